import type { Repository } from '../repository.js';

/** The slice of a repository that reading snapshot trees needs: loading one tree blob by id. */
export type TreeSource = Pick<Repository, 'loadTree'>;
