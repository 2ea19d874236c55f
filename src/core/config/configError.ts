import { UserError } from '../errors';

/** One problem in a config file, located by a dotted field path such as `data.resolution`. */
export interface ConfigIssue {
  /** Dotted path of the field ('' for the file itself). */
  field: string;
  message: string;
}

/**
 * A config that can't be used. The message is one line that names the file and each field; the
 * issues stay structured so the editor can jump to the failing field.
 */
export class ConfigError extends UserError {
  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(
      `${file}: ${issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ')}`,
    );
  }
}
