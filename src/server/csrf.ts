import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { API_ERROR_CODES } from '../contract/tables.js';

/** The header that tells the server a request did not come from another website's form, link or image. */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

export const CSRF_MESSAGE =
  `This request could have been sent by another website (a GET, a form or a text/plain post carrying credentials). ` +
  `Send the header "${CSRF_HEADER}: 1" or "content-type: application/json", or your API key as "Authorization: Bearer <key>".`;

const BEARER = /^Bearer\s/i;

/**
 * Cross-site request forgery protection that reports a missing key first. A request another website could make a
 * browser send (GET, forms, text/plain; yoga's plugin decides which) must carry a header such a page cannot set —
 * but only when it carries credentials the browser may have attached on its own (cookies, HTTP Basic). A bearer
 * key is never attached by a browser, so it is proof enough; a request with no credentials at all cannot act for
 * anyone, so it goes on and meets the key check like any other (401 UNAUTHENTICATED, as for a POST).
 */
export function useCsrfPrevention(): Plugin {
  const yogaCsrf = useCSRFPrevention({ requestHeaders: [CSRF_HEADER] });
  return {
    onRequestParse(payload) {
      const { headers } = payload.request;
      const authorization = headers.get('authorization');
      if (authorization ? BEARER.test(authorization) : !headers.has('cookie')) return;
      try {
        return yogaCsrf.onRequestParse?.(payload);
      } catch {
        // yoga's refusal says neither which header to send nor a code a client can test.
        throw createGraphQLError(CSRF_MESSAGE, { extensions: { code: API_ERROR_CODES.CSRF_PREVENTED, http: { status: 403 } } });
      }
    },
  };
}
