// The parsed form of a RediSearch query. Text nodes carry the fields they are restricted to
// (`@a|b:` modifiers; null = every TEXT field); the executor resolves names against the schema.

export type Fields = readonly string[] | null;

export type QNode =
  | { t: 'term'; term: string; fields: Fields; verbatim: boolean }
  | { t: 'prefix'; prefix: string; fields: Fields }
  | { t: 'fuzzy'; term: string; dist: number; fields: Fields }
  | { t: 'phrase'; terms: string[]; fields: Fields }
  | { t: 'and'; children: QNode[]; fields?: Fields }
  | { t: 'or'; children: QNode[]; fields?: Fields }
  | { t: 'not'; child: QNode }
  | { t: 'opt'; child: QNode }
  | { t: 'numeric'; field: string; lo: number; hi: number; loEx: boolean; hiEx: boolean }
  | { t: 'tag'; field: string; values: TagValue[] }
  | { t: 'all' }
  | { t: 'null' }
  | { t: 'vrange'; field: string; radius: number; blob: Buffer };

export interface TagValue {
  value: string;
  prefix: boolean;
}

/** `=>[KNN k @field $blob [EF_RUNTIME n] [AS name]]` after the filter query. */
export interface KnnClause {
  k: number;
  field: string;
  blob: Buffer;
  as: string | undefined;
  efRuntime: number | undefined;
}

export interface ParsedQuery {
  root: QNode;
  knn: KnnClause | undefined;
}
