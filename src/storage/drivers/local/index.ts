/** The `file:` driver (plain paths too): a repository in a local directory. */
export { LocalStorage, createLocalStorage } from './local.js';
