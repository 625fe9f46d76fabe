/**
 * The `207 Multi-Status` body of a PROPFIND (RFC 4918 §9.1): for every entry
 * its type, size, modification time, etag and name. Every request gets the
 * same properties (as for `allprop`); clients take the ones they asked for.
 *
 * @module
 */

import type { DavEntry } from './namespace.js';

const escapeXml = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** The URL path of an entry: each segment percent-encoded, collections ending in `/`. */
export function hrefOf(entry: DavEntry): string {
  const path = '/' + entry.segments.map(encodeURIComponent).join('/');
  return entry.collection && entry.segments.length ? `${path}/` : path;
}

function response(entry: DavEntry): string {
  const name = entry.segments.at(-1) ?? '';
  const props = [
    `<D:displayname>${escapeXml(name)}</D:displayname>`,
    entry.collection ? '<D:resourcetype><D:collection/></D:resourcetype>' : '<D:resourcetype/>',
    `<D:getlastmodified>${entry.modified.toUTCString()}</D:getlastmodified>`,
    ...(entry.collection
      ? []
      : [
          `<D:getcontentlength>${entry.size}</D:getcontentlength>`,
          '<D:getcontenttype>application/octet-stream</D:getcontenttype>',
          `<D:getetag>${escapeXml(etagOf(entry))}</D:getetag>`,
        ]),
  ];
  return `<D:response><D:href>${escapeXml(hrefOf(entry))}</D:href><D:propstat><D:prop>${props.join('')}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>`;
}

/** A file's etag: its content never changes, so the blob list names it (hashed short). */
export function etagOf(entry: DavEntry): string {
  const content = entry.node?.content ?? [];
  return `"${content.length ? content[0]!.slice(0, 16) + content.length.toString(16) + '-' + entry.size.toString(16) : 'empty'}"`;
}

export function multistatus(entries: DavEntry[]): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">${entries.map(response).join('')}</D:multistatus>\n`;
}
