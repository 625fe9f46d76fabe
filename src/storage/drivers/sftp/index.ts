/** The `sftp:` driver: a directory on an SSH server, logged in to as `ssh` would. Loaded on first use. */
export { createSftpStorage, type SftpStorageOptions } from './sftp.js';
