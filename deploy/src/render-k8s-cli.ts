// `npm run render:k8s --workspace @labelloop/deploy`: writes the parts of k8s/ rendered from the chart.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { k8sDir } from './paths.js';
import { renderK8s } from './render-k8s.js';

for (const [file, content] of renderK8s()) {
  writeFileSync(join(k8sDir, file), content);
  console.log(`wrote k8s/${file}`);
}
