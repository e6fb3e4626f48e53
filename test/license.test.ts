/**
 * The license: package.json says MIT, LICENSE holds the MIT text, and it is
 * in what npm packs.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';

const root = resolve(import.meta.dirname, '..');

describe('license', () => {
  it('package.json says MIT, LICENSE holds the MIT text, and npm packs it', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license?: unknown };
    expect(manifest.license).to.equal('MIT');
    const license = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(license.startsWith('MIT License\n')).to.equal(true);
    expect(license).to.include('Copyright (c) 2026 express-token-pair contributors');
    expect(license).to.include('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
    // What `npm pack` would put in the tarball (scripts off: no build, just the list).
    const listing = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
    });
    const [packed] = JSON.parse(listing) as Array<{ files: Array<{ path: string }> }>;
    expect(packed!.files.map((file) => file.path)).to.include('LICENSE');
  });
});
