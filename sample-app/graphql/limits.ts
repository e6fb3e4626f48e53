/**
 * What a GraphQL document may cost, and what it asks for. The limits are
 * checked before anything runs: the body's bytes by http.ts (413), the
 * tokens by the parser (a syntax error), the depth by a validation rule.
 * `rootFields` reads which root fields a document selects, so that the
 * route can apply the REST rate limits per field and decide, before
 * execution, whether a refused token fails the request.
 */
import {
  GraphQLError,
  Kind,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type Source,
  type ValidationRule,
} from 'graphql';

/** Lexical tokens of a query (graphql's `maxTokens`): a login is about 30, the introspection query 163. */
export const MAX_TOKENS = 1000;
/**
 * Levels of fields below the operation. This schema goes 3 deep
 * (`login { user { id } }`) and has no cycle; the rule guards what a later
 * field might add. Introspection fields (`__schema`, `__type`) are left to
 * the introspection switch.
 */
export const MAX_DEPTH = 5;

/** graphql's parse with the token limit: used by the route and by graphql-http alike. */
export function parseDocument(query: string | Source): DocumentNode {
  return parse(query, { maxLexicalTokens: MAX_TOKENS, noLocation: true });
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

/** A validation rule refusing operations more than `max` fields deep (fragments followed, each measured once). */
export function depthLimit(max: number): ValidationRule {
  return (context) => {
    const fragments = fragmentsOf(context.getDocument());
    const measured = new Map<string, number>();
    const depthOf = (set: SelectionSetNode, visiting: Set<string>): number => {
      let deepest = 0;
      for (const selection of set.selections) {
        let depth = 0;
        if (selection.kind === Kind.FIELD) {
          if (!selection.name.value.startsWith('__'))
            depth = 1 + (selection.selectionSet ? depthOf(selection.selectionSet, visiting) : 0);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          depth = depthOf(selection.selectionSet, visiting);
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          // A cycle is refused by graphql's own NoFragmentCycles rule; here it only must not loop.
          if (fragment !== undefined && !visiting.has(name)) {
            if (!measured.has(name)) {
              visiting.add(name);
              measured.set(name, depthOf(fragment.selectionSet, visiting));
              visiting.delete(name);
            }
            depth = measured.get(name) ?? 0;
          }
        }
        deepest = Math.max(deepest, depth);
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, new Set());
        if (depth > max) {
          context.reportError(
            new GraphQLError(`the operation is ${depth} fields deep; the limit is ${max}`, { nodes: node }),
          );
        }
      },
    };
  };
}

export interface RootFields {
  operation: OperationDefinitionNode['operation'];
  /** Each root field node once (through fragments too), by name: an alias or a repeat counts again. */
  names: string[];
}

/**
 * The root fields of the operation `operationName` selects (or of the only
 * one), or `undefined` when there is no such single operation (graphql-http
 * then refuses the request). `@skip`/`@include` are ignored: an upper bound.
 */
export function rootFields(document: DocumentNode, operationName: string | undefined): RootFields | undefined {
  const operations = document.definitions.filter((node) => node.kind === Kind.OPERATION_DEFINITION);
  const operation =
    operationName === undefined
      ? operations.length === 1
        ? operations[0]
        : undefined
      : operations.find((node) => node.name?.value === operationName);
  if (operation === undefined) return undefined;
  const fragments = fragmentsOf(document);
  const seen = new Set<string>();
  const names: string[] = [];
  const collect = (set: SelectionSetNode): void => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        names.push(selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collect(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment !== undefined) collect(fragment.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  return { operation: operation.operation, names };
}
