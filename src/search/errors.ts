// Search errors carry RediSearch's own wording; the command layer turns them into `-<text>` replies
// in the request's pipeline slot. RediSearch prefixes nothing: most of its errors have no ERR word
// of their own, the reply is `-` followed by the message, which clients read as the error text.

export class SearchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchError';
  }
}

export const err = (message: string): SearchError => new SearchError(message);

export const ERR_UNKNOWN_INDEX = 'Unknown Index name';
export const ERR_INDEX_EXISTS = 'Index already exists';
