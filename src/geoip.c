/*
 * geoip.c: the only file that includes maxminddb.h.  Maps a client
 * address to an ISO 3166-1 country code; the address itself is never
 * kept.  The database is mmap'ed once and read from all workers
 * (libmaxminddb lookups are read-only and thread-safe).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <maxminddb.h>

#include "worker.h"

struct geoip {
	MMDB_s	db;
};

struct geoip *
geoip_open(const char *path, char *err, size_t errlen)
{
	struct geoip	*g = xcalloc(1, sizeof(*g));
	int		 rc;

	if ((rc = MMDB_open(path, MMDB_MODE_MMAP, &g->db)) != MMDB_SUCCESS) {
		snprintf(err, errlen, "geoip_db %s: %s", path,
		    MMDB_strerror(rc));
		free(g);
		return NULL;
	}
	return g;
}

void
geoip_close(struct geoip *g)
{
	if (g == NULL)
		return;
	MMDB_close(&g->db);
	free(g);
}

int
geoip_country(struct geoip *g, const struct sockaddr *sa, char cc[2])
{
	MMDB_lookup_result_s	res;
	MMDB_entry_data_s	data;
	int			mmdb_error;

	res = MMDB_lookup_sockaddr(&g->db, sa, &mmdb_error);
	if (mmdb_error != MMDB_SUCCESS || !res.found_entry)
		return -1;
	if (MMDB_get_value(&res.entry, &data, "country", "iso_code", NULL) !=
	    MMDB_SUCCESS || !data.has_data ||
	    data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2)
		return -1;
	cc[0] = data.utf8_string[0];
	cc[1] = data.utf8_string[1];
	return 0;
}
