/**
 * The fields of a zod config schema as rows: dotted path, and its default (JSON), `required`, or
 * `optional`. Read through zod's JSON Schema export (input side), so it sees what a config file
 * may hold.
 */
import { z } from 'zod';

export interface FieldRow {
  path: string;
  default: string;
}

interface JsonSchemaNode {
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  default?: unknown;
}

export function configFields(schema: z.ZodType): FieldRow[] {
  const rows: FieldRow[] = [];
  const walk = (node: JsonSchemaNode, prefix: string, required: boolean): void => {
    if (node.properties !== undefined && node.default === undefined) {
      for (const [key, child] of Object.entries(node.properties)) {
        walk(child, prefix === '' ? key : `${prefix}.${key}`, (node.required ?? []).includes(key));
      }
      return;
    }
    if (node.properties !== undefined) {
      // An object with a default of its own: its fields are listed, each with its default.
      for (const [key, child] of Object.entries(node.properties)) walk(child, `${prefix}.${key}`, false);
      return;
    }
    rows.push({ path: prefix, default: node.default !== undefined ? JSON.stringify(node.default) : required ? 'required' : 'optional' });
  };
  walk(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode, '', true);
  return rows;
}
