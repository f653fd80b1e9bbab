#!/usr/bin/perl
# Drives the server with Net::SMPP (CPAN's SMPP client, Debian's
# libnet-smpp-perl; no one here wrote it) and reports what it saw, one
# event per line, for tests/interop_netsmpp.rs to check:
#
#     EVENT key=value key=value ...
#
# Octet strings are printed in hex. The script asserts nothing about the
# server; it exits 2 if a step cannot run at all (a closed connection),
# and says `timeout` if a wait passes its deadline.
#
# Net::SMPP is used as its manual shows: synchronous requests (each waits
# for its response and discards what else comes meanwhile), then read_pdu
# for what the SMSC sends.
#
# Usage: netsmpp_client.pl SCENARIO PORT   (SCENARIO: basic, mo, store)
use strict;
use warnings;
use Encode qw(encode);
use Net::SMPP;

my ($scenario, $port) = @ARGV;
my $host = '127.0.0.1';
$| = 1;
$SIG{ALRM} = sub { print "timeout\n"; exit 3 };
alarm 20;

sub emit {
    my ($event, @kv) = @_;
    my @parts = ($event);
    while (@kv) {
        my ($k, $v) = splice @kv, 0, 2;
        $v = '-' if !defined $v || $v eq '';
        push @parts, "$k=$v";
    }
    print join(' ', @parts), "\n";
}

sub hexs { my $s = shift; return defined $s && length $s ? unpack('H*', $s) : '-' }

sub fail { emit('error', what => shift); exit 2 }

sub bind_as {
    my ($how, $system_id, $password) = @_;
    my $ctor = "new_$how";
    my $s = Net::SMPP->$ctor($host, port => $port, system_id => $system_id,
                             password => $password, smpp_version => 0x34)
        or fail("bind_$how");
    emit('bound', as => $system_id, how => $how);
    return $s;
}

# The next deliver_sm (answered with deliver_sm_resp), enquire_links
# answered on the way.
sub next_deliver {
    my $s = shift;
    while (1) {
        my $pdu = $s->read_pdu() or fail('read_pdu');
        if ($pdu->{cmd} == Net::SMPP::CMD_enquire_link) {
            $s->enquire_link_resp(seq => $pdu->{seq});
            next;
        }
        next if $pdu->{cmd} != Net::SMPP::CMD_deliver_sm;
        $s->deliver_sm_resp(seq => $pdu->{seq}, message_id => '');
        return $pdu;
    }
}

sub emit_deliver {
    my ($event, $pdu) = @_;
    my $state = $pdu->{message_state};
    # receipted_message_id is a C-Octet String: its NUL comes with it.
    my $receipted = $pdu->{receipted_message_id};
    my $nul = defined $receipted && $receipted =~ s/\0\z// ? 1 : 0;
    emit($event,
         esm_class => $pdu->{esm_class},
         data_coding => $pdu->{data_coding},
         source => $pdu->{source_addr},
         dest => $pdu->{destination_addr},
         receipted => $receipted,
         receipted_nul => $nul,
         state => defined $state ? unpack('C', $state) : undef,
         text => hexs($pdu->{short_message}),
         payload => hexs($pdu->{message_payload}));
}

sub submit {
    my ($s, $label, @args) = @_;
    my $r = $s->submit_sm(source_addr => '12345', destination_addr => '447700900001',
                          registered_delivery => 1, @args)
        or fail("submit_sm $label");
    emit('submit', label => $label, status => $r->status, id => $r->{message_id});
    return $r->{message_id};
}

sub query {
    my ($s, $id, $source) = @_;
    my $r = $s->query_sm(message_id => $id, source_addr => $source) or fail('query_sm');
    emit('query', id => $id, status => $r->status, state => $r->{message_state},
         error => $r->{error_code}, final_date => $r->{final_date});
}

# replace_sm / cancel_sm of message `$id` from 12345 to 447700900001.
sub replace {
    my ($s, $event, $id, @args) = @_;
    my $r = $s->replace_sm(message_id => $id, source_addr => '12345', @args)
        or fail("replace_sm ($event)");
    emit($event, status => $r->status);
}

sub cancel {
    my ($s, $event, $id) = @_;
    my $r = $s->cancel_sm(message_id => $id, source_addr => '12345',
                          destination_addr => '447700900001')
        or fail("cancel_sm ($event)");
    emit($event, status => $r->status);
}

if ($scenario eq 'basic') {
    my $s = bind_as('transceiver', 'esme', 'secret');
    my $e = $s->enquire_link() or fail('enquire_link');
    emit('enquire', status => $e->status);
    my @ids;
    push @ids, submit($s, 'gsm', short_message => 'Hello from Net::SMPP');
    push @ids, submit($s, 'ucs2', data_coding => 8,
                      short_message => encode('UTF-16BE', "\x{41f}\x{440}\x{438}\x{432}\x{435}\x{442}"));
    push @ids, submit($s, 'payload', short_message => '', message_payload => 'P' x 300);
    for (1 .. 3) {
        emit_deliver('receipt', next_deliver($s));
    }
    query($s, $ids[0], '12345');
    query($s, $ids[0], '99999');
    query($s, 'ffffffffffffffff', '12345');
    my $u = $s->unbind() or fail('unbind');
    emit('unbind', status => $u->status);
} elsif ($scenario eq 'mo') {
    # b owns 4479 (the server's --route): a's message comes to b as an MO
    # deliver_sm, b's answer makes a's receipt.
    my $b = bind_as('receiver', 'b', 'pw');
    my $a = bind_as('transceiver', 'a', 'pw');
    submit($a, 'mo_gsm', destination_addr => '447900000001',
           short_message => 'MO via Net::SMPP');
    submit($a, 'mo_ucs2', destination_addr => '447900000002', data_coding => 8,
           short_message => encode('UTF-16BE', "\x{263a} ok"));
    emit_deliver('mo', next_deliver($b)) for 1 .. 2;
    emit_deliver('receipt', next_deliver($a)) for 1 .. 2;
    $a->unbind();
    $b->unbind();
} elsif ($scenario eq 'store') {
    my $s = bind_as('transceiver', 'esme', 'secret');
    # An hour from now (relative form): pending until then.
    my $id = submit($s, 'scheduled', short_message => 'later',
                    schedule_delivery_time => '000000010000000R');
    query($s, $id, '12345');
    replace($s, 'replace', $id, short_message => 'replaced', registered_delivery => 1);
    cancel($s, 'cancel', $id);
    emit_deliver('receipt', next_deliver($s));
    query($s, $id, '12345');
    cancel($s, 'cancel_again', $id);
    replace($s, 'replace_again', $id, short_message => 'too late');
    $s->unbind();
} else {
    fail("unknown scenario $scenario");
}
print "end\n";
