/** The configuration file's key paths, from its schema: what the docs and shipped files must cover. */
import { z } from 'zod';
import { rawConfigSchema } from '../../src/config/schema.js';

function collect(schema: z.ZodType, prefix: string, out: string[]): string[] {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
  if (s instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(s.shape as Record<string, z.ZodType>)) collect(child, prefix === '' ? key : `${prefix}.${key}`, out);
  } else if (s instanceof z.ZodArray) {
    collect(s.element as z.ZodType, `${prefix}[]`, out);
  } else {
    out.push(prefix);
  }
  return out;
}

/** Dotted key paths of the YAML schema, `cluster.nodes[].id` for list items. */
export function configKeys(): string[] {
  return collect(rawConfigSchema, '', []);
}
