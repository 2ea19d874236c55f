import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The JSON Schema ships as a file (the editor's jsonValidation uses the same one). From source it
 * is at <repo>/schemas; from a bundle in dist/ it is at <package>/schemas.
 */
export function schemaFilePath(): string {
  const candidates = [
    path.join(__dirname, '..', 'schemas', 'icgan.schema.json'),
    path.join(__dirname, '..', '..', '..', 'schemas', 'icgan.schema.json'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (found === undefined) {
    throw new Error(`icgan.schema.json not found (looked in ${candidates.join(', ')})`);
  }
  return found;
}
