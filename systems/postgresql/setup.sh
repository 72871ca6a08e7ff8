#!/bin/sh
# A new, empty database cluster for each run, reachable from the lab's
# network without a password, with the tables of the list-append,
# rw-register and set workloads.
set -eu
systemctl disable --now postgresql >/dev/null 2>&1 || true
pg_dropcluster --stop 15 main >/dev/null 2>&1 || true
# UTF8 whatever the SSH session's locale (SQL_ASCII would hand text back as bytes)
pg_createcluster --encoding UTF8 --locale C.UTF-8 15 main >/dev/null
cat >/etc/postgresql/15/main/conf.d/faultline.conf <<'CONF'
listen_addresses = '*'
max_connections = 200
CONF
echo "host all all 0.0.0.0/0 trust" >>/etc/postgresql/15/main/pg_hba.conf
pg_ctlcluster 15 main start
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -c "CREATE TABLE lists (k bigint PRIMARY KEY, v text NOT NULL)" \
  -c "CREATE TABLE registers (k bigint PRIMARY KEY, v bigint NOT NULL)" \
  -c "CREATE TABLE elements (k text NOT NULL, e bigint NOT NULL, PRIMARY KEY (k, e))"
pg_ctlcluster 15 main stop
