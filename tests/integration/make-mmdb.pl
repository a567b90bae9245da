#!/usr/bin/perl
# make-mmdb.pl: writes a tiny GeoIP2-Country-style database for the
# integration tests, so nothing has to be downloaded:
#   81.2.69.0/24    GB
#   2.125.160.0/24  DE   (also reachable as ::ffff:2.125.160.0/120)
#   2001:db8::/32   US
#   127.0.0.2/32    FR   (a loopback "client" behind a local proxy:
#                         test_daemon.py's nginx test)
# Usage: perl make-mmdb.pl OUT.mmdb   (needs libmaxmind-db-writer-perl;
# tests/integration/test_tracking.py runs it with /usr/bin/perl)
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV or die "usage: $0 OUT.mmdb\n";

my %types = (
	country  => 'map',
	iso_code => 'utf8_string',
	names    => 'map',
	en       => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
	database_type         => 'GeoIP2-Country',
	description           => { en => 'Fanfare test countries' },
	languages             => ['en'],
	ip_version            => 6,
	record_size           => 24,
	# IPv4 lookups (and ::ffff:a.b.c.d) land in the IPv4 subtree.
	alias_ipv6_to_ipv4    => 1,
	# 2001:db8::/32 is a documentation prefix, 127.0.0.2 loopback:
	# keep them anyway.
	remove_reserved_networks => 0,
	map_key_type_callback => sub { $types{ $_[0] } },
);

my @nets = (
	[ '81.2.69.0/24',   'GB', 'United Kingdom' ],
	[ '2.125.160.0/24', 'DE', 'Germany' ],
	[ '2001:db8::/32',  'US', 'United States' ],
	[ '127.0.0.2/32',   'FR', 'France' ],
);
for my $n (@nets) {
	$tree->insert_network($n->[0],
	    { country => { iso_code => $n->[1], names => { en => $n->[2] } } });
}

open(my $fh, '>:raw', "$out.tmp") or die "$out.tmp: $!\n";
$tree->write_tree($fh);
close($fh) or die "$out.tmp: $!\n";
rename("$out.tmp", $out) or die "$out: $!\n";
