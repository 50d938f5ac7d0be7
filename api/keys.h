/* keys: the handlers of dnsd-api's key resources (keys.c), for the route table in routes.c.
 * Each answers as api.h says: it sets r's status and reply. */
#ifndef DNSD_API_KEYS_H
#define DNSD_API_KEYS_H
#include "api.h"

void keys_list(struct api_req *r);	 /* GET /v1/domains/{domain}/keys */
void keys_import(struct api_req *r);	 /* POST /v1/domains/{domain}/keys */
void keys_rotate(struct api_req *r);	 /* POST /v1/domains/{domain}/keys/rotate */
void keys_revoke(struct api_req *r);	 /* POST /v1/domains/{domain}/keys/{id}/revoke */
void keys_put(struct api_req *r);	 /* PUT /v1/domains/{domain}/selectors/{selector}/key */
void keys_rotate_all(struct api_req *r); /* POST /v1/keys/rotate */
void keys_revoke_all(struct api_req *r); /* POST /v1/keys/revoke */

#endif
