import { InvalidArgumentError } from 'commander';

/**
 * A parser for an option that names one thing (`--id`, `--config`, `--from`): given twice, the
 * command line is refused naming both values. Commander keeps the last one silently, so
 * `controller --id c1 ... --id c2` (a unit file and an override, say) ran as c2 unnoticed.
 */
export function givenOnce(flag: string): (value: string, previous: string | undefined) => string {
  return (value, previous) => {
    if (previous !== undefined) throw new InvalidArgumentError(`${flag} is given twice (${JSON.stringify(previous)} and ${JSON.stringify(value)}); give it once`);
    return value;
  };
}
