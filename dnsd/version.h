/* version: the release dnsd, dnsd-api and dnsdctl report (--version); one
 * number for the three, since they ship and upgrade together. */
#ifndef DNSD_VERSION_H
#define DNSD_VERSION_H

#define DNSD_VERSION "0.1.0"

#endif
