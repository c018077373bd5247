import { render } from 'preact';
import { App } from './app.js';
import { resumeSession } from './state/session.js';
import './styles.css';

await resumeSession();
render(<App />, document.getElementById('app')!);
