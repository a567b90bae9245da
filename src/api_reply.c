/*
 * api_reply.c: the way out of an API request.  Every request ends in
 * exactly one of these: api_json; api_error and its kin (api_reply_err,
 * api_unavailable, api_busy, api_method_not_allowed); api_nocontent;
 * api_static or api_reply_buffer.  Each records the answer in the
 * request and hands it to api_req_answered, which sends it (counted for
 * /metrics) and frees the request on the main thread, at once or when
 * the request comes back from its worker: a handler must not touch the
 * request afterwards.
 *
 * Errors are always {"error": {"code", "message"}} (API.md), never an
 * HTML page.  struct api_err carries an error out of a core function
 * that has no request (fanfarectl runs the same cores).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "api.h"

const char *
api_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

/* Records the answer (body's bytes moved): the one way out of a
 * request. */
static void
reply_send(struct api_req *r, int status, const char *ctype,
    const char *headers, struct evbuffer *body)
{
	if (r->answered)
		fatalx("api: a request answered twice");
	r->answered = 1;
	r->status = status;
	r->reply_ctype = ctype;
	r->reply_headers = headers != NULL ? xstrdup(headers) : NULL;
	if (body != NULL) {
		r->reply_body = evbuffer_new();
		evbuffer_add_buffer(r->reply_body, body);
	}
	api_req_answered(r);
}

static void
reply_json(struct api_req *r, int status, const char *headers, json_t *o)
{
	struct evbuffer	*buf = evbuffer_new();
	char		*s;

	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		fatalx("api: cannot encode a reply");
	evbuffer_add(buf, s, strlen(s));
	evbuffer_add(buf, "\n", 1);
	free(s);
	reply_send(r, status, "application/json", headers, buf);
	evbuffer_free(buf);
}

static json_t *
error_json(const char *code, const char *msg)
{
	return json_pack("{s:{s:s, s:s}}", "error", "code", code, "message",
	    msg);
}

void
api_json(struct api_req *r, int status, json_t *o)
{
	reply_json(r, status, NULL, o);
}

void
api_error(struct api_req *r, int status, const char *code, const char *fmt,
    ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_json(r, status, NULL, error_json(code, msg));
}

void
api_method_not_allowed(struct api_req *r, unsigned methods)
{
	char	allow[64], headers[80], msg[80];

	api_route_allow(methods, allow, sizeof(allow));
	snprintf(headers, sizeof(headers), "Allow: %s\r\n", allow);
	snprintf(msg, sizeof(msg), "this path takes %s", allow);
	reply_json(r, 405, headers, error_json("method_not_allowed", msg));
}

void
api_nocontent(struct api_req *r)
{
	reply_send(r, 204, NULL, NULL, NULL);
}

void
api_static(struct api_req *r, int status, const char *ctype,
    const char *headers, const char *data, size_t len)
{
	struct evbuffer	*buf = evbuffer_new();

	/* By reference: the bytes are the dashboard's, kept until api_free,
	 * which closes every connection first. */
	if (len > 0)
		evbuffer_add_reference(buf, data, len, NULL, NULL);
	reply_send(r, status, ctype, headers, buf);
	evbuffer_free(buf);
}

void
api_reply_buffer(struct api_req *r, int status, const char *ctype,
    struct evbuffer *body)
{
	reply_send(r, status, ctype, NULL, body);
	if (body != NULL)
		evbuffer_free(body);
}

void
api_unavailable(struct api_req *r)
{
	struct api_err	err;

	api_err_unavailable(&err);
	api_reply_err(r, &err);
}

void
api_busy(struct api_req *r, const char *why)
{
	reply_json(r, 503, "Retry-After: 1\r\n", error_json("busy", why));
}

void
api_err_set(struct api_err *err, int status, const char *code,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	api_err_vset(err, status, code, fmt, ap);
	va_end(ap);
}

void
api_err_vset(struct api_err *err, int status, const char *code,
    const char *fmt, va_list ap)
{
	err->status = status;
	err->code = code;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

void
api_err_unavailable(struct api_err *err)
{
	api_err_set(err, 503, "unavailable", "the data store is not "
	    "reachable; try again");
}

void
api_reply_err(struct api_req *r, const struct api_err *err)
{
	api_error(r, err->status, err->code, "%s", err->message);
}

void
api_json_headers(struct api_req *r, int status, const char *headers,
    json_t *o)
{
	if (o == NULL)
		reply_send(r, status, NULL, headers, NULL);
	else
		reply_json(r, status, headers, o);
}
