import { z } from 'zod';

/**
 * The schema that applies at a key path of the parsed data, or undefined. Used
 * only to word errors well ("did you mean keep_daily?"); validation itself is
 * zod's.
 */
export function schemaAt(root: z.ZodType, path: readonly PropertyKey[], data: unknown): z.ZodType | undefined {
  let schema: z.ZodType | undefined = root;
  let value = data;
  for (const key of path) {
    schema = unwrap(schema, value);
    if (!schema) return undefined;
    value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(key)];
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else return undefined;
  }
  return unwrap(schema, value);
}

/** Through optional wrappers and, for a discriminated union, to the member that the data selects. */
export function unwrap(schema: z.ZodType | undefined, value: unknown): z.ZodType | undefined {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodDefault) s = s.def.innerType as z.ZodType;
    else if (s instanceof z.ZodDiscriminatedUnion) {
      const type = value && typeof value === 'object' ? (value as Record<string, unknown>).type : undefined;
      s = (s.options as z.ZodType[]).find((o) => o instanceof z.ZodObject && literalOf(o, 'type') === type);
      if (!s) return undefined;
    } else if (s instanceof z.ZodUnion) {
      const objects = (s.options as z.ZodType[]).filter((o) => o instanceof z.ZodObject || o instanceof z.ZodArray);
      s = objects.find((o) =>
        o instanceof z.ZodArray
          ? Array.isArray(value)
          : value !== null && typeof value === 'object' && !Array.isArray(value),
      );
      if (!s) return undefined;
    } else return s;
  }
}

/** Allowed keys of an object schema. */
export function objectKeys(schema: z.ZodType | undefined): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function literalOf(schema: z.ZodType, key: string): unknown {
  if (!(schema instanceof z.ZodObject)) return undefined;
  const field = (schema.shape as Record<string, z.ZodType>)[key];
  return field instanceof z.ZodLiteral ? field.value : undefined;
}
