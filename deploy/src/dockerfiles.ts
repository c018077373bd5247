import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { repoRoot, servicesDir } from './paths.js';

// The services' Dockerfiles, parsed with dockerfile-ast into stages, and the images
// `npm run docker:build` makes from them.

export interface Stage {
  name: string | undefined;
  /** The FROM image with build arguments expanded (or the name of an earlier stage). */
  from: string;
  instructions: Array<{ keyword: string; args: string }>;
}

export interface ParsedDockerfile {
  args: Map<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const dockerfile = DockerfileParser.parse(text);
  const args = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property?.getName()) args.set(property.getName(), property.getValue() ?? '');
  }
  const expand = (value: string) => value.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => args.get(name) ?? whole);
  const froms = dockerfile.getFROMs();
  const stages: Stage[] = froms.map((from) => ({ name: from.getBuildStage() ?? undefined, from: expand(from.getImage() ?? ''), instructions: [] }));
  for (const instruction of dockerfile.getInstructions()) {
    const line = instruction.getRange().start.line;
    const index = froms.findLastIndex((from) => from.getRange().start.line <= line);
    if (index < 0 || instruction.getKeyword() === 'FROM') continue;
    // The whole text after the keyword, flags included (COPY --from=...), continuations joined.
    const text = instruction.getTextContent().replace(/\\\r?\n/g, ' ').replace(/\s+/g, ' ').trim();
    stages[index]!.instructions.push({ keyword: instruction.getKeyword(), args: text.slice(text.indexOf(' ') + 1) });
  }
  return { args, stages };
}

export interface ServiceDockerfile {
  service: string;
  path: string;
  parsed: ParsedDockerfile;
}

/** Every services/<name>/Dockerfile. */
export function serviceDockerfiles(): ServiceDockerfile[] {
  return readdirSync(servicesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(servicesDir, entry.name, 'Dockerfile')))
    .map((entry) => {
      const path = join(servicesDir, entry.name, 'Dockerfile');
      return { service: entry.name, path, parsed: parseDockerfile(readFileSync(path, 'utf8')) };
    })
    .sort((a, b) => a.service.localeCompare(b.service));
}

/** Services with a package.json (each must have a Dockerfile). */
export function servicePackages(): string[] {
  return readdirSync(servicesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(servicesDir, entry.name, 'package.json')))
    .map((entry) => entry.name)
    .sort();
}

/** The stage an image built without --target ends in (the last one), or the named one. */
export function stageNamed(parsed: ParsedDockerfile, name?: string): Stage {
  const stage = name === undefined ? parsed.stages.at(-1) : parsed.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name ?? '(last)'}`);
  return stage;
}

/** The base image a stage ends up on, following FROM <stage> chains. */
export function baseImage(parsed: ParsedDockerfile, stage: Stage): string {
  const earlier = parsed.stages.find((s) => s.name === stage.from);
  return earlier ? baseImage(parsed, earlier) : stage.from;
}

/** The stages whose files reach `stage` (FROM and COPY --from), itself included. */
export function stagesFeeding(parsed: ParsedDockerfile, stage: Stage, seen = new Set<Stage>()): Set<Stage> {
  if (seen.has(stage)) return seen;
  seen.add(stage);
  const sources = [stage.from, ...stage.instructions.flatMap((i) => (i.keyword === 'COPY' ? [/--from=(\S+)/.exec(i.args)?.[1]] : []))];
  for (const source of sources) {
    const earlier = parsed.stages.find((s) => s.name === source);
    if (earlier) stagesFeeding(parsed, earlier, seen);
  }
  return seen;
}

export interface ImageBuild {
  service: string;
  dockerfile: string;
  target?: string;
  /** Image name without registry prefix and tag, and the tag suffix (-gpu). */
  name: string;
  tagSuffix: string;
}

/** The images `npm run docker:build` builds: one per service; the trainer in its cpu and gpu variants. */
export function imageBuilds(): ImageBuild[] {
  return serviceDockerfiles().flatMap(({ service, path, parsed }) => {
    const names = new Set(parsed.stages.map((s) => s.name));
    const dockerfile = path.slice(repoRoot.length + 1);
    if (names.has('gpu')) {
      return [
        { service, dockerfile, target: 'cpu', name: service, tagSuffix: '' },
        { service, dockerfile, target: 'gpu', name: service, tagSuffix: '-gpu' },
      ];
    }
    return [{ service, dockerfile, name: service, tagSuffix: '' }];
  });
}
