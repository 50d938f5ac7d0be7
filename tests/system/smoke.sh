#!/bin/bash
# smoke: the whole path once: init, add a domain, dnsd answers its names.
. "$(dirname "$0")/lib"
new_store
ctl domain add example.com --tenant acme >/dev/null
TOK=$(token example.com)
start_dnsd || finish
expect_match "DKIM key served" "$(q esp1.$TOK.dkim.$ZONE TXT)" '^"v=DKIM1; k=rsa; p=MII'
expect "SPF served" "$(q $TOK.rp.$ZONE TXT)" "\"v=spf1 include:_spf.$ZONE -all\""
finish
