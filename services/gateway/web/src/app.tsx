// The shell: sign-in gate, top bar (who is signed in, sign out), a dataset's tabs, the screen.
import { useEffect } from 'preact/hooks';
import { Link } from './components/common.js';
import { DatasetsScreen } from './screens/datasets.js';
import { DatasetScreen } from './screens/dataset.js';
import { ExportScreen } from './screens/export.js';
import { ModelsScreen } from './screens/models.js';
import { ReviewScreen } from './screens/review.js';
import { SignInScreen } from './screens/sign-in.js';
import { UploadScreen } from './screens/upload.js';
import { currentPath, datasetPath, matchRoute, type Route } from './state/router.js';
import { can, me, signOut } from './state/session.js';

const tabs = [
  { page: undefined, label: 'Overview', role: 'viewer' },
  { page: 'upload', label: 'Upload', role: 'labeller' },
  { page: 'review', label: 'Label', role: 'labeller' },
  { page: 'models', label: 'Models', role: 'viewer' },
  { page: 'export', label: 'Export', role: 'viewer' },
] as const;

function DatasetTabs({ id, route }: { id: string; route: Route['name'] }) {
  return (
    <nav class="tabs" aria-label="Dataset">
      {tabs
        .filter((tab) => can(tab.role))
        .map((tab) => {
          const active = (tab.page ?? 'dataset') === route;
          return (
            <Link key={tab.label} href={datasetPath(id, tab.page)} class={`tab${active ? ' tab-active' : ''}`} aria-current={active ? 'page' : undefined}>
              {tab.label}
            </Link>
          );
        })}
    </nav>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.name) {
    case 'datasets':
      return <DatasetsScreen />;
    case 'dataset':
      return <DatasetScreen id={route.id} />;
    case 'upload':
      return <UploadScreen id={route.id} />;
    case 'review':
      return <ReviewScreen id={route.id} />;
    case 'models':
      return <ModelsScreen id={route.id} />;
    case 'export':
      return <ExportScreen id={route.id} />;
    default:
      return (
        <section class="page">
          <h1>Page not found</h1>
          <p>
            There is no page at this address. <Link href="/">Go to the datasets</Link>.
          </p>
        </section>
      );
  }
}

export function App() {
  const route = matchRoute(currentPath.value);
  useEffect(() => {
    document.title = me.value ? `labelloop · ${titleOf(route)}` : 'labelloop · sign in';
  }, [route.name, me.value]);

  if (!me.value) return <SignInScreen />;
  return (
    <div class="shell">
      <header class="topbar">
        <Link href="/" class="brand">
          <span class="brand-mark" aria-hidden="true" />
          labelloop
        </Link>
        {'id' in route && <DatasetTabs id={route.id} route={route.name} />}
        <div class="whoami">
          <span class="whoami-name">{me.value.name}</span>
          <span class={`role role-${me.value.role}`}>{me.value.role}</span>
          <button type="button" class="button-quiet" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <Screen route={route} />
      </main>
    </div>
  );
}

function titleOf(route: Route): string {
  switch (route.name) {
    case 'datasets':
      return 'datasets';
    case 'dataset':
      return 'dataset';
    case 'review':
      return 'label';
    case 'not-found':
      return 'not found';
    default:
      return route.name;
  }
}
