/*
 * api_import.c: POST /v1/contacts/import, a CSV file of any size.
 *
 * The body is never held: api_http.c passes it on as it arrives, csv.c
 * cuts it into rows (memory bounded by the longest row), rows become
 * contact objects and every IMPORT_BATCH of them goes through the same
 * validation and upsert as POST /v1/contacts.  So memory is one batch
 * whatever the file's size.
 *
 * Threads: the rows are cut on the main thread as the body arrives (no
 * Redis); a full batch goes to a worker (api_req_submit), and the
 * connection reads nothing more until it is back (the request is busy),
 * so a slow uploader holds no worker and a fast one waits for Redis.
 * The last batch's worker answers; an error found on the main thread is
 * answered there.
 *
 * The header row names the columns: email (required), first_name,
 * last_name, date_of_birth, gender; "attributes.NAME" or any other name
 * is the attribute NAME (a string).  An empty cell sets nothing.  A
 * column named on the special-category list is dropped for every row
 * and reported once in dropped_columns.  A row with the wrong number of
 * cells is rejected (invalid_row).  rejected lists the first
 * IMPORT_REJECTED_MAX; rejected_count counts them all.
 *
 * An import is not one transaction: the batches before a malformed row
 * (400 invalid_csv) or a Redis failure (503) stay applied, and the
 * error says how many rows were; importing the file again is harmless
 * (upsert by address).
 */
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"

#define IMPORT_BATCH		10000
#define IMPORT_ROW_MAX		65536
#define IMPORT_FIELDS_MAX	256
#define IMPORT_REJECTED_MAX	1000

enum import_col {
	COL_EMAIL,
	COL_FIRST_NAME,
	COL_LAST_NAME,
	COL_DATE_OF_BIRTH,
	COL_GENDER,
	COL_TIMEZONE,
	COL_ATTRIBUTE,
	COL_DROPPED,
};

static const char *const import_fields[] = { "email", "first_name",
    "last_name", "date_of_birth", "gender", "timezone" };

struct import {
	struct api_req	*r;
	struct csv	*csv;
	size_t		 ncols;
	enum import_col	*kind;
	char		**name;		/* field or attribute name */
	json_t		*dropped;	/* dropped_columns */
	json_t		*batch;		/* contact objects */
	size_t		 batch_first;	/* row index of batch[0] */
	json_t		*flushing;	/* the batch at a worker */
	size_t		 flushing_first;
	int		 ending;	/* the body is read: answer after it */
	size_t		 rows;		/* data rows seen */
	size_t		 applied;	/* rows in batches written */
	json_t		*rejected;
	size_t		 nrejected;
	long long	 created, updated;
	struct api_err	 err;		/* status 0, or the error to answer */
};

static void
import_free(void *arg)
{
	struct import	*im = arg;
	size_t		 i;

	csv_free(im->csv);
	for (i = 0; i < im->ncols; i++)
		free(im->name[i]);
	free(im->name);
	free(im->kind);
	json_decref(im->dropped);
	json_decref(im->batch);
	json_decref(im->flushing);
	json_decref(im->rejected);
	free(im);
}

static int
import_fail(struct import *im, int status, const char *code,
    const char *fmt, ...) FF_ATTR_PRINTF(4, 5);

static int
import_fail(struct import *im, int status, const char *code,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	api_err_vset(&im->err, status, code, fmt, ap);
	va_end(ap);
	return 1;	/* stops csv_feed */
}

static int
import_header(struct import *im, char **fields, size_t *lens, size_t n)
{
	const char	*name;
	size_t		 i, j, k, len;
	int		 email = 0;

	im->ncols = n;
	im->kind = xcalloc(n, sizeof(*im->kind));
	im->name = xcalloc(n, sizeof(*im->name));
	for (i = 0; i < n; i++) {
		name = fields[i];
		len = lens[i];
		if (len >= 11 && strncmp(name, "attributes.", 11) == 0) {
			name += 11;
			len -= 11;
		} else {
			for (k = 0; k < FF_NELEM(import_fields); k++)
				if (strlen(import_fields[k]) == len &&
				    strncasecmp(name, import_fields[k], len) ==
				    0)
					break;
			if (k < FF_NELEM(import_fields)) {
				im->kind[i] = (enum import_col)k;
				im->name[i] = xstrdup(import_fields[k]);
				email |= k == COL_EMAIL;
				goto dup;
			}
		}
		if (len == 0 || memchr(name, '\0', len) != NULL)
			return import_fail(im, 400, "invalid_csv", "column %zu "
			    "has no name", i + 1);
		im->kind[i] = COL_ATTRIBUTE;
		im->name[i] = xstrndup(name, len);
		if (special_name(im->r->a->special, name, len) != NULL) {
			im->kind[i] = COL_DROPPED;
			json_array_append_new(im->dropped, json_pack("{s:s, "
			    "s:s}", "column", im->name[i], "error",
			    "special_category_attribute"));
		}
dup:
		for (j = 0; j < i; j++)
			if (strcmp(im->name[j], im->name[i]) == 0)
				return import_fail(im, 400, "invalid_csv",
				    "column '%.100s' appears twice",
				    im->name[i]);
	}
	if (!email)
		return import_fail(im, 400, "invalid_csv", "the header row has "
		    "no 'email' column");
	return 0;
}

/* On a worker: writes the flushing batch; non-zero (status set) on
 * failure. */
static int
import_flush(struct import *im)
{
	struct api_req	*r = im->r;
	json_t		*rej = json_array(), *v;
	const char	*bad = NULL;
	size_t		 badi = 0, i, n = json_array_size(im->flushing);
	int		 rc;

	if (n == 0) {
		json_decref(rej);
		return 0;
	}
	rc = api_contacts_apply(r, im->flushing, im->flushing_first,
	    rej, &im->created, &im->updated, &bad, &badi);
	json_array_foreach(rej, i, v) {
		if (im->nrejected < IMPORT_REJECTED_MAX)
			json_array_append(im->rejected, v);
		im->nrejected++;
	}
	json_decref(rej);
	json_array_clear(im->flushing);
	if (rc == -1)
		return import_fail(im, 503, "unavailable", "the data store is "
		    "not reachable; %zu rows were imported before it failed",
		    im->applied);
	/* Not reached: the objects we build have known fields only. */
	if (rc == -2)
		return import_fail(im, 500, "internal", "row %zu", badi);
	im->applied += n;
	return 0;
}

static void
import_answer(struct api_req *r)
{
	struct import	*im = r->stream_arg;

	if (im->err.status != 0) {
		api_reply_err(r, &im->err);
		return;
	}
	api_json(r, 200, json_pack("{s:I, s:I, s:I, s:O, s:I, s:O}",
	    "rows", (json_int_t)im->rows,
	    "created", (json_int_t)im->created,
	    "updated", (json_int_t)im->updated,
	    "rejected", im->rejected,
	    "rejected_count", (json_int_t)im->nrejected,
	    "dropped_columns", im->dropped));
}

/* On a worker: the batch; after the last one, the answer. */
static void
import_flush_work(struct api_req *r)
{
	struct import	*im = r->stream_arg;

	import_flush(im);
	/* A batch's objects are freed in this worker's malloc arena; each
	 * worker keeps its own, so without this the next batches, on other
	 * workers, would hold up to one batch's peak per worker. */
	malloc_trim(0);
	if (im->ending)
		import_answer(r);
}

/* Back on the main thread, unanswered: a failed batch ends the import
 * (the rest of the body is not read); else reading goes on. */
static void
import_flushed(struct api_req *r)
{
	struct import	*im = r->stream_arg;

	if (im->err.status != 0)
		api_reply_err(r, &im->err);
}

/* The batch goes to a worker; nothing more is read until it is back. */
static void
import_submit(struct api_req *r)
{
	struct import	*im = r->stream_arg;
	json_t		*t = im->flushing;

	im->flushing = im->batch;
	im->flushing_first = im->batch_first;
	im->batch = t;
	im->batch_first = im->rows;
	r->after = import_flushed;
	api_req_submit(r, import_flush_work);
}

static int
import_row(void *arg, size_t rowno, char **fields, size_t *lens,
    size_t nfields)
{
	struct import	*im = arg;
	json_t		*o, *attrs = NULL;
	size_t		 i, index;

	if (rowno == 1)
		return import_header(im, fields, lens, nfields);
	index = im->rows++;
	if (nfields != im->ncols) {
		if (im->nrejected++ < IMPORT_REJECTED_MAX)
			contact_reject(im->rejected, index, NULL, "invalid_row",
			    NULL);
		goto next;
	}
	o = json_object();
	for (i = 0; i < nfields; i++) {
		json_t *v;

		if (lens[i] == 0 || im->kind[i] == COL_DROPPED)
			continue;
		if ((v = json_stringn(fields[i], lens[i])) == NULL) {
			json_decref(o);
			json_decref(attrs);
			if (im->nrejected++ < IMPORT_REJECTED_MAX)
				contact_reject(im->rejected, index, NULL,
				    "invalid_encoding", NULL);
			goto next;
		}
		if (im->kind[i] != COL_ATTRIBUTE) {
			json_object_set_new(o, im->name[i], v);
			continue;
		}
		if (attrs == NULL)
			attrs = json_object();
		json_object_set_new(attrs, im->name[i], v);
	}
	if (attrs != NULL)
		json_object_set_new(o, "attributes", attrs);
	attrs = NULL;
	if (json_object_get(o, "email") == NULL)
		json_object_set_new(o, "email", json_string(""));
	json_array_append_new(im->batch, o);
next:
	return 0;	/* a full batch is written after the piece */
}

static void
import_data(struct api_req *r, const char *p, size_t len)
{
	struct import	*im = r->stream_arg;

	if (csv_feed(im->csv, p, len, import_row, im) != 0) {
		if (im->err.status == 0)
			import_fail(im, 400, "invalid_csv", "%s; %zu rows were "
			    "imported before it", csv_error(im->csv),
			    im->applied);
		api_reply_err(r, &im->err);
		return;
	}
	if (json_array_size(im->batch) >= IMPORT_BATCH)
		import_submit(r);
}

static void
import_end(struct api_req *r)
{
	struct import	*im = r->stream_arg;

	if (csv_finish(im->csv, import_row, im) == -1 && im->err.status == 0)
		import_fail(im, 400, "invalid_csv", "%s; %zu rows were "
		    "imported before it", csv_error(im->csv), im->applied);
	if (im->err.status == 0 && im->ncols == 0)
		import_fail(im, 400, "invalid_csv", "the body is empty: send "
		    "a header row and rows");
	if (im->err.status != 0 || json_array_size(im->batch) == 0) {
		import_answer(r);
		return;
	}
	im->ending = 1;
	import_submit(r);
}

void
api_contacts_import(struct api_req *r)
{
	struct import	*im;
	const char	*ct = r->ctype;

	if (ct != NULL && strncasecmp(ct, "text/csv", 8) != 0 &&
	    strncasecmp(ct, "application/csv", 15) != 0) {
		api_error(r, 415, "unsupported_media_type", "send text/csv");
		return;
	}
	im = xcalloc(1, sizeof(*im));
	im->r = r;
	im->csv = csv_new(IMPORT_ROW_MAX, IMPORT_FIELDS_MAX);
	im->dropped = json_array();
	im->batch = json_array();
	im->flushing = json_array();
	im->rejected = json_array();
	r->stream_arg = im;
	r->stream_free = import_free;
	r->stream_data = import_data;
	r->stream_end = import_end;
}
