#include "ingest/tag.h"

#include <string.h>

#include "util/banned.h"

/* Defined by the file tools/embed-file generates from web/tag.js. */
extern const unsigned char pb_tag_js[];
extern const size_t pb_tag_js_len;
extern const char pb_tag_js_etag[];

const char *
tag_js(size_t *len)
{
	*len = pb_tag_js_len;
	return (const char *)pb_tag_js;
}

const char *
tag_etag(void)
{
	return pb_tag_js_etag;
}

bool
tag_etag_matches(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);

	if (!inm)
		return false;
	for (const char *p = inm; *p;) {
		const char *start, *end;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (!strncmp(p, "W/", 2))
			p += 2;
		if (*p != '"') {
			/* Not an entity tag: skip to the next list member. */
			while (*p && *p != ',')
				p++;
			continue;
		}
		start = p;
		end = strchr(p + 1, '"');
		if (!end)
			return false;
		if ((size_t)(end + 1 - start) == elen && !memcmp(start, etag, elen))
			return true;
		p = end + 1;
	}
	return false;
}

enum MHD_Result
tag_serve(struct MHD_Connection *conn, const char *method, unsigned *status)
{
	const char *inm;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;
	const char *body;

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		static const char msg[] = "{\"error\":{\"code\":\"method_not_allowed\","
		    "\"message\":\"use GET for " TAG_PATH "\"}}";

		*status = MHD_HTTP_METHOD_NOT_ALLOWED;
		resp = MHD_create_response_from_buffer(sizeof(msg) - 1,
		    (void *)msg, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "application/json");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	} else {
		inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_IF_NONE_MATCH);
		if (tag_etag_matches(inm, tag_etag())) {
			*status = MHD_HTTP_NOT_MODIFIED;
			resp = MHD_create_response_from_buffer(0, NULL,
			    MHD_RESPMEM_PERSISTENT);
		} else {
			*status = MHD_HTTP_OK;
			body = tag_js(&len);
			/* Static storage for the life of the process: no copy. */
			resp = MHD_create_response_from_buffer(len, (void *)body,
			    MHD_RESPMEM_PERSISTENT);
			if (resp)
				MHD_add_response_header(resp,
				    MHD_HTTP_HEADER_CONTENT_TYPE, TAG_CONTENT_TYPE);
		}
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, tag_etag());
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
		    TAG_CACHE_CONTROL);
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	}
	ret = MHD_queue_response(conn, *status, resp);
	MHD_destroy_response(resp);
	return ret;
}
