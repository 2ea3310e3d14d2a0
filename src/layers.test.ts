import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

// The layers (issue 10, "each thing in one place"): a domain calls another
// domain's service, never its repo; a repo calls no service.
const src = import.meta.dirname;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [full] : [];
  });
}

// Every relative module a file names: `import … from`, `export … from`, `import '…'` and `import('…')`.
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\b(?:from\s+|import\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) found.push(m[1]!);
  return found;
}

// 'bases' for src/bases/…, undefined for a file at the top of src/.
function domainOf(file: string): string | undefined {
  const parts = path.relative(src, file).split(path.sep);
  return parts.length > 1 ? parts[0] : undefined;
}

function layerViolations(): string[] {
  const violations: string[] = [];
  for (const file of sourceFiles(src)) {
    const from = path.relative(src, file);
    for (const spec of importsOf(fs.readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec);
      const name = path.basename(target);
      const repoOf = /^([a-z]+)\.repo\.ts$/.exec(name)?.[1];
      if (repoOf && path.basename(path.dirname(target)) === repoOf && repoOf !== domainOf(file)) {
        violations.push(`${from} imports ${spec}: call the ${repoOf} service, not its repo`);
      }
      if (from.endsWith('.repo.ts') && name.endsWith('.service.ts')) {
        violations.push(`${from} imports ${spec}: a repo must not import a service`);
      }
    }
  }
  return violations;
}

describe('layers', () => {
  it('a domain imports no other domain’s repo, and no repo imports a service', () => {
    assert.deepEqual(layerViolations(), []);
  });
});
