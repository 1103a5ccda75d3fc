/**
 * @module workers/validate
 * Request validation with valibot through Hono's validator: a body or query that does not
 * match its schema is answered 400 `validation_failed` before the handler runs.
 */
import { validator } from "hono/validator";
import * as v from "valibot";
import { ChatError } from "../protocol/errors.ts";
import { describeIssues } from "../protocol/frames.ts";

type Target = "json" | "query";

export function valid<T extends v.GenericSchema>(target: Target, schema: T) {
  return validator(target, async (value, c): Promise<v.InferOutput<T>> => {
    let input: unknown = value;
    if (target === "json") {
      // Hono parses JSON leniently; re-read so an empty or broken body is a typed error.
      const text = await c.req.text();
      if (text.trim() === "") input = undefined;
      else {
        try {
          input = JSON.parse(text);
        } catch {
          throw new ChatError("validation_failed", "the body is not valid JSON");
        }
      }
    }
    const result = v.safeParse(schema, input);
    if (!result.success) {
      throw new ChatError("validation_failed", describeIssues(result.issues), {
        details: result.issues.slice(0, 10).map((i) => ({ path: v.getDotPath(i), message: i.message })),
      });
    }
    return result.output;
  });
}
