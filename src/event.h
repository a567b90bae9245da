/*
 * event.h: a tenant's events as its customers see them (event.c): the
 * names of the types, the JSON text of one event, the stable ids, the
 * feed's query parameters, and the reading of the trackers' record
 * lines.  Pure: bytes in, bytes out, no Redis, no HTTP; the log itself
 * ({t:T}:events) is store_event.h's.
 *
 * An event is stored as the JSON text it is delivered and pulled as:
 *   {"id", "email", "type", "time", "campaign", "contact", ...}
 * The builders here make everything but "id" and "email" (the partial
 * object); the script that appends it to the log puts them in front
 * (the email is the contact's at that moment, read in the same script,
 * so an erased contact gets no event).  Type-specific members: clicked
 * "url"; bounced "kind" ("hard", "soft"), "status", "diagnostic";
 * unsubscribed "reason"; opened and clicked "machine": true for a
 * proxy, scanner or prefetch.
 */
#ifndef FANFARE_EVENT_H
#define FANFARE_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum event_type {
	EVENT_SENT,
	EVENT_BOUNCED,
	EVENT_COMPLAINED,
	EVENT_OPENED,
	EVENT_CLICKED,
	EVENT_UNSUBSCRIBED,
	EVENT_SUBSCRIBED,
	EVENT_NTYPES
};

#define EVENT_ALL_TYPES		((1u << EVENT_NTYPES) - 1)
#define EVENT_ID_MAX		80	/* longest id, NUL included */
#define EVENT_CURSOR_MAX	48	/* a stream id "ms-seq", NUL included */

/* One event's members apart from id and email; NULL strings are left
 * out (contact 0: "contact" is null, as for a signup not yet stored). */
struct event_fields {
	enum event_type	 type;
	uint64_t	 time_ms;
	uint64_t	 campaign;	/* 0: none (null) */
	uint64_t	 contact;	/* 0: none (null) */
	const char	*url;		/* clicked */
	const char	*kind;		/* bounced: "hard" or "soft" */
	const char	*status;	/* bounced: "5.1.1" or "" */
	const char	*diagnostic;	/* bounced */
	const char	*reason;	/* unsubscribed: "link", "api", ... */
	int		 machine;	/* opened, clicked */
};

/* "sent", ...; NULL for a value out of range. */
const char	*event_type_name(enum event_type);
/* The type named by s (len bytes): 0 with *t, or -1. */
int		 event_type_parse(const char *s, size_t len, enum event_type *t);
/* A comma-separated list of type names ("opened,clicked") into a mask
 * of 1 << type: 0, or -1 on an unknown name or an empty item.  An
 * empty string is every type. */
int		 event_types_parse(const char *s, unsigned *mask);

/* The partial object's JSON text (see the top), malloc'ed, compact. */
char		*event_json(const struct event_fields *);

/* A feed cursor, a stream id "MS-SEQ" (both decimal, ms up to 20
 * digits): 1 when s is one. */
int		 event_cursor_valid(const char *s);
/* -1, 0, 1 as stream id a sorts before, with, after b; an id that is
 * not one sorts first. */
int		 event_cursor_cmp(const char *a, const char *b);

/*
 * A position in the log: "ID", after the entry ID; or "ID@CID.LINE",
 * inside the pump's reference entry ID (store_event.h), at line LINE of
 * the campaign's record entry CID: the reference's events before it are
 * behind.  The feed's cursor and an endpoint's delivery cursor; a line
 * number, not an event count, so that an erasure (erase.lua leaves a
 * line in place of each one it removes) moves no other event.
 */
#define EVENT_POS_MAX		112	/* NUL included */
struct event_pos {
	char		 entry[EVENT_CURSOR_MAX];
	char		 sub[EVENT_CURSOR_MAX];	/* "": after entry */
	unsigned	 line;
};
/* 0 with p, or -1 when s is no position. */
int		 event_pos_parse(const char *s, struct event_pos *p);
/* p's text into buf (EVENT_POS_MAX bytes); returns buf. */
char		*event_pos_format(char *buf, const struct event_pos *p);

/* The text an event is delivered as: the partial object of event_json
 * with "id" and "email" (NULL: null) put in front; malloc'ed. */
char		*event_json_full(const char *id, const char *email,
		    const char *partial);

/*
 * Stable ids: the same event, produced again (a replay, a retry, a
 * crash between two steps), gets the same id.  Each writes at most
 * EVENT_ID_MAX bytes with the NUL and returns buf.
 *   event_id_tracked: "trk:C:ENTRY:I", the I-th record line of the
 *     entry ENTRY of campaign C's stream {t:T:c:C}:events;
 *   event_id_send: "sent:C:CONTACT" or "bounce:C:CONTACT" (a 5xx to
 *     RCPT), once per recipient of a campaign (its done bit).
 * A bounce report's id is "report:" and its {t:T}:bounce_log entry id,
 * made in bounce.lua.
 */
char		*event_id_tracked(char *buf, uint64_t campaign,
		    const char *entry, unsigned line);
char		*event_id_send(char *buf, enum event_type, uint64_t campaign,
		    uint64_t contact);

/*
 * One line of a campaign's record text (store.c: "TS KIND CONTACT LINK
 * CC FLAGS", kind o, c or u, flags m or -), len bytes without the
 * newline: 0 with the fields, or -1 when it is not one.
 */
struct event_record {
	uint64_t	 ts_ms;
	enum event_type	 type;		/* opened, clicked, unsubscribed */
	uint64_t	 contact;
	uint64_t	 link;
	int		 machine;
};
int		 event_record_parse(const char *line, size_t len,
		    struct event_record *);

#endif
