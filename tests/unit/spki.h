/* spki: a made-up RSA public key of any size, for the unit tests that check the
 * key size limits (generating a real 12288-bit key takes half a minute). */
#ifndef DNSD_TEST_SPKI_H
#define DNSD_TEST_SPKI_H
#include <stdio.h>
#include <string.h>

#include "keys.h"

/* An RSA SubjectPublicKeyInfo with a modulus of mbytes bytes (top bit set), base64. */
static void spki_b64(size_t mbytes, char *out, size_t outlen)
{
	unsigned char d[1700];
	size_t n = 0, ilen = mbytes + 1; /* the modulus INTEGER has a leading zero */
	size_t seq2 = 4 + ilen + 5;	 /* SEQUENCE { INTEGER n, INTEGER e } */
	size_t bits = 4 + seq2 + 1;
	static const unsigned char alg[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					    0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
	size_t total = sizeof(alg) + 4 + bits;
	d[n++] = 0x30, d[n++] = 0x82, d[n++] = (unsigned char)(total >> 8),
	d[n++] = (unsigned char)total;
	memcpy(d + n, alg, sizeof(alg));
	n += sizeof(alg);
	d[n++] = 0x03, d[n++] = 0x82, d[n++] = (unsigned char)(bits >> 8),
	d[n++] = (unsigned char)bits;
	d[n++] = 0;
	d[n++] = 0x30, d[n++] = 0x82, d[n++] = (unsigned char)(seq2 >> 8),
	d[n++] = (unsigned char)seq2;
	d[n++] = 0x02, d[n++] = 0x82, d[n++] = (unsigned char)(ilen >> 8),
	d[n++] = (unsigned char)ilen;
	d[n++] = 0;
	for (size_t i = 0; i < mbytes; i++)
		d[n++] = (unsigned char)(i == 0 ? 0xc3 : i * 7 + 1);
	d[n++] = 0x02, d[n++] = 0x03, d[n++] = 0x01, d[n++] = 0x00, d[n++] = 0x01;
	keys_base64(d, n, out, outlen);
}
#endif
