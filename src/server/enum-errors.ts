import { GraphQLEnumType, GraphQLError, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { API_ERROR_CODES } from '../contract/tables.js';

/**
 * graphql-js's words for an enum value that does not exist, as a literal ("Value "DONE" does not exist in
 * "GenerationStatus" enum.") or in a variable (the same after "Variable "$s" got invalid value …;"), and for a
 * value of the wrong kind ("Enum "GenerationStatus" cannot represent non-enum value: …"). The enum's name is the
 * capture; a "Did you mean …?" that may follow is dropped for the full list.
 */
const UNKNOWN_ENUM_VALUE = /(?:Value "[^"]*" does not exist in "(\w+)" enum|Enum "(\w+)" cannot represent non-\w+ value: [^.]*)\.(?: Did you mean [^?]*\?)?/;

const ALLOWED = ' Allowed values: ';

/** The message with the allowed values of the enum it names, or undefined when it names no enum value problem. */
function withAllowedValues(message: string, schema: GraphQLSchema): string | undefined {
  // yoga caches validation results, so an error may come back already rewritten.
  if (message.includes(ALLOWED)) return undefined;
  const match = UNKNOWN_ENUM_VALUE.exec(message);
  const type = match && schema.getType(match[1] ?? match[2] ?? '');
  if (!match || !(type instanceof GraphQLEnumType)) return undefined;
  const allowed = type.getValues().map((value) => value.name).join(', ');
  return message.replace(match[0], `${match[0].replace(/ Did you mean [^?]*\?$/, '')}${ALLOWED}${allowed}.`);
}

/** The same error with `message` and an added code; its locations, path and other extensions are kept. */
const rewritten = (error: GraphQLError, message: string, code: string) =>
  new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: error.extensions.code ?? code },
  });

function rewriteVariableErrors(result: ExecutionResult, schema: GraphQLSchema): ExecutionResult | undefined {
  // Variables are coerced before anything runs: such a result has errors and no data.
  if (!result.errors?.length || result.data !== undefined) return undefined;
  let changed = false;
  const errors = result.errors.map((error) => {
    const message = withAllowedValues(error.message, schema);
    if (message === undefined) return error;
    changed = true;
    return rewritten(error, message, API_ERROR_CODES.BAD_USER_INPUT);
  });
  return changed ? { ...result, errors } : undefined;
}

/** The hook on an execution's or a subscription's result: a single result may hold variable errors, a stream not. */
const rewriteResult =
  (schema: GraphQLSchema) =>
  ({ result, setResult }: { result: ExecutionResult | AsyncIterable<ExecutionResult>; setResult: (result: ExecutionResult) => void }) => {
    if (isAsyncIterable(result)) return;
    const changed = rewriteVariableErrors(result, schema);
    if (changed) setResult(changed);
  };

/**
 * An unknown enum value is answered with the values that are allowed, in a literal and in a variable, in
 * development and production alike (graphql-js's "Did you mean" is hidden in production with the other field
 * suggestions, and names one value at best). Every validation error gets the code GRAPHQL_VALIDATION_FAILED; a
 * variable holding an unknown value gets BAD_USER_INPUT. Works over HTTP, SSE and WebSocket (envelop hooks).
 */
export function useEnumValueErrors(): Plugin {
  return {
    onValidate({ params }) {
      const schema = params.schema as GraphQLSchema;
      return ({ result, setResult }) => {
        const errors = result as readonly GraphQLError[];
        if (!errors.length) return;
        setResult(
          errors.map((error) =>
            rewritten(error, withAllowedValues(error.message, schema) ?? error.message, API_ERROR_CODES.GRAPHQL_VALIDATION_FAILED),
          ),
        );
      };
    },
    onExecute: ({ args }) => ({ onExecuteDone: rewriteResult(args.schema as GraphQLSchema) }),
    onSubscribe: ({ args }) => ({ onSubscribeResult: rewriteResult(args.schema as GraphQLSchema) }),
  };
}
