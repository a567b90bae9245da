/*
 * abtest.c: an A/B test's "ab" object and its winner (abtest.h), pure:
 * JSON in, a struct out; figures in, a variant out.  No Redis, no
 * clock: the due job (api_schedule.c) brings the figures.
 */
#include <stdio.h>
#include <string.h>

#include "abtest.h"
#include "tzsched.h"

#define AB_FRACTION_DEFAULT	0.2
#define AB_WAIT_DEFAULT_MS	(4ULL * 3600 * 1000)

static const char *const ab_fields[] = { "variants", "test_fraction",
    "metric", "wait", NULL };
static const char *const variant_fields[] = { "subject", "template_id",
    NULL };

/* Whether every key of o is in names. */
static const char *
unknown_key(json_t *o, const char *const *names)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(o, k, v) {
		for (i = 0; names[i] != NULL; i++)
			if (strcmp(k, names[i]) == 0)
				break;
		if (names[i] == NULL)
			return k;
	}
	return NULL;
}

static int
id_of(const char *s, size_t len, uint64_t *id)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0 || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0)
		return -1;
	*id = v;
	return 0;
}

int
ab_parse(json_t *o, struct ab_test *t, char *err, size_t errlen)
{
	json_t		*vs, *v, *f;
	const char	*s, *bad;
	size_t		 i, j, len;

	memset(t, 0, sizeof(*t));
	t->test_fraction = AB_FRACTION_DEFAULT;
	t->wait_ms = AB_WAIT_DEFAULT_MS;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "ab: an object is required");
		return -1;
	}
	if ((bad = unknown_key(o, ab_fields)) != NULL) {
		snprintf(err, errlen, "ab: unknown field '%.64s'", bad);
		return -1;
	}
	vs = json_object_get(o, "variants");
	if (!json_is_array(vs) || json_array_size(vs) < 2 ||
	    json_array_size(vs) > AB_MAX_VARIANTS) {
		snprintf(err, errlen, "ab.variants: 2 to %d variants are "
		    "required", AB_MAX_VARIANTS);
		return -1;
	}
	json_array_foreach(vs, i, v) {
		if (!json_is_object(v) ||
		    (bad = unknown_key(v, variant_fields)) != NULL) {
			snprintf(err, errlen, "ab.variants[%zu]: an object "
			    "with subject and template_id", i);
			return -1;
		}
		f = json_object_get(v, "subject");
		if (!json_is_string(f) || (len = json_string_length(f)) == 0 ||
		    len > AB_SUBJECT_MAX) {
			snprintf(err, errlen, "ab.variants[%zu].subject: 1 to "
			    "%d bytes", i, AB_SUBJECT_MAX);
			return -1;
		}
		s = json_string_value(f);
		for (j = 0; j < len; j++)
			if ((unsigned char)s[j] < 0x20 || s[j] == 0x7f) {
				snprintf(err, errlen, "ab.variants[%zu].subject:"
				    " no control characters", i);
				return -1;
			}
		memcpy(t->variant[i].subject, s, len);
		t->variant[i].subject[len] = '\0';
		if ((f = json_object_get(v, "template_id")) != NULL &&
		    (!json_is_string(f) || id_of(json_string_value(f),
		    json_string_length(f), &t->variant[i].template_id) == -1)) {
			snprintf(err, errlen, "ab.variants[%zu].template_id: "
			    "a template id (a string)", i);
			return -1;
		}
	}
	t->nvariants = (int)json_array_size(vs);
	if ((f = json_object_get(o, "test_fraction")) != NULL) {
		if (!json_is_number(f) || !(json_number_value(f) > 0) ||
		    json_number_value(f) > 1) {
			snprintf(err, errlen, "ab.test_fraction: a number "
			    "above 0, at most 1");
			return -1;
		}
		t->test_fraction = json_number_value(f);
	}
	if ((f = json_object_get(o, "metric")) != NULL) {
		if (json_is_string(f) && strcmp(json_string_value(f), "opens") ==
		    0)
			t->metric = AB_OPENS;
		else if (json_is_string(f) &&
		    strcmp(json_string_value(f), "clicks") == 0)
			t->metric = AB_CLICKS;
		else {
			snprintf(err, errlen, "ab.metric: \"opens\" or "
			    "\"clicks\"");
			return -1;
		}
	}
	if ((f = json_object_get(o, "wait")) != NULL &&
	    (!json_is_string(f) || tz_parse_duration(json_string_value(f),
	    json_string_length(f), &t->wait_ms) == -1 || t->wait_ms < 1000)) {
		snprintf(err, errlen, "ab.wait: a duration such as \"4h\", "
		    "\"30m\", \"90s\" (s, m, h, d; 1 s to 365 d)");
		return -1;
	}
	return 0;
}

/* The wait back as the shortest exact duration. */
static void
wait_text(uint64_t ms, char *buf, size_t len)
{
	if (ms % 86400000 == 0)
		snprintf(buf, len, "%llud", (unsigned long long)(ms / 86400000));
	else if (ms % 3600000 == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
}

json_t *
ab_json(const struct ab_test *t)
{
	json_t	*vs = json_array(), *v;
	char	 buf[32];
	int	 i;

	for (i = 0; i < t->nvariants; i++) {
		v = json_pack("{s:s}", "subject", t->variant[i].subject);
		if (t->variant[i].template_id != 0) {
			snprintf(buf, sizeof(buf), "%llu",
			    (unsigned long long)t->variant[i].template_id);
			json_object_set_new(v, "template_id", json_string(buf));
		}
		json_array_append_new(vs, v);
	}
	wait_text(t->wait_ms, buf, sizeof(buf));
	return json_pack("{s:o, s:f, s:s, s:s}", "variants", vs,
	    "test_fraction", t->test_fraction, "metric",
	    t->metric == AB_CLICKS ? "clicks" : "opens", "wait", buf);
}

long long
ab_test_count(const struct ab_test *t, long long total)
{
	long long	n;

	if (total <= 0)
		return 0;
	n = (long long)((double)total * t->test_fraction + 0.5);
	if (n < t->nvariants)
		n = t->nvariants;
	return n > total ? total : n;
}

double
ab_rate(enum ab_metric m, const struct ab_figures *f)
{
	if (f->sent <= 0)
		return 0;
	return (double)(m == AB_CLICKS ? f->clicks : f->opens) /
	    (double)f->sent;
}

int
ab_winner(enum ab_metric m, const struct ab_figures *f, int n)
{
	long long	hits, best_hits;
	double		r, best;
	int		i, w = 0;

	best = ab_rate(m, &f[0]);
	best_hits = m == AB_CLICKS ? f[0].clicks : f[0].opens;
	for (i = 1; i < n; i++) {
		r = ab_rate(m, &f[i]);
		hits = m == AB_CLICKS ? f[i].clicks : f[i].opens;
		if (r > best || (r == best && hits > best_hits)) {
			best = r;
			best_hits = hits;
			w = i;
		}
	}
	return w + 1;
}
