/** Narrows away undefined, as a filter: `views.map(parse).filter(defined)`. */
export function defined<T>(value: T | undefined): value is T {
  return value !== undefined;
}
