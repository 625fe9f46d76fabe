/** The `lifeboat+http:`/`lifeboat+https:` driver: a repository behind `lifeboat serve-repository`. */
export { HttpStorage, createHttpStorage } from './http.js';
export { HTTP_SCHEMES, parseServerUrl, type ServerLocation } from './http-url.js';
export { TOKEN_ENV, TOKEN_FILE_ENV, readServerToken } from './http-token.js';
