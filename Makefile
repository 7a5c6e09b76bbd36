# forksrv: the injected server (preinit/), the wire protocol (fifo/), the driver (driver/).
# `make` builds into $(B)/; `make test` runs the bats suite; `make check` runs it again with the
# driver built with ASan+UBSan (the server itself is never instrumented: it runs inside the target)
# and the server's stderr lines reworded (REWORD=1), which the driver must not depend on.

VERSION = 0.2.0
SOVERSION = 0
PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
LIBDIR = $(PREFIX)/lib
INCLUDEDIR = $(PREFIX)/include
MANDIR = $(PREFIX)/share/man
# Where the preload libraries go, and where the CLI looks for them: a distribution package puts
# them in a directory of their own (debian/rules), since nothing links against them.
PRELOADDIR = $(LIBDIR)
CC ?= cc
CFLAGS ?= -O2 -g
B ?= build
SAN ?=
REWORD ?=

WARN = -Wall -Wextra -Werror
ALL_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11
# The server has no libc under it: no builtins that call libc, no stack protector, no exported names.
PREINIT_CFLAGS = $(ALL_CFLAGS) -fPIC -ffreestanding -fno-builtin -fno-stack-protector -fvisibility=hidden \
	-fno-tree-loop-distribute-patterns $(if $(REWORD),-DFSRV_REWORDED)
DRIVER_CFLAGS = $(ALL_CFLAGS) $(SAN) -DFORKSRV_VERSION='"$(VERSION)"' -DFORKSRV_SONAME='"libforksrv.so.$(SOVERSION)"' \
	-DFORKSRV_LIBDIR='"$(PRELOADDIR)"' $(CPPFLAGS)

PREINIT_OBJ = \
	$(B)/preinit/afl.o \
	$(B)/preinit/centipede.o \
	$(B)/preinit/elf.o \
	$(B)/preinit/env.o \
	$(B)/preinit/fds.o \
	$(B)/preinit/fifo_open.o \
	$(B)/preinit/native.o \
	$(B)/preinit/persist.o \
	$(B)/preinit/run.o \
	$(B)/preinit/say.o \
	$(B)/preinit/snap_fds.o \
	$(B)/preinit/snap_memory.o \
	$(B)/preinit/snap_process.o \
	$(B)/preinit/snapshot.o \
	$(B)/preinit/start.o
PREINIT_HDR = preinit/server.h preinit/snapshot.h preinit/sys.h fifo/protocol.h

CLIENT_OBJ = \
	$(B)/driver/client.o \
	$(B)/driver/diagnose.o \
	$(B)/driver/server.o \
	$(B)/driver/start_policy.o \
	$(B)/driver/infile.o \
	$(B)/driver/plain.o \
	$(B)/driver/rundir.o \
	$(B)/driver/spawn.o \
	$(B)/driver/capture.o
CLI_OBJ = \
	$(B)/driver/check.o \
	$(B)/driver/check_modes.o \
	$(B)/driver/crashes.o \
	$(B)/driver/inputs.o \
	$(B)/driver/jobs.o \
	$(B)/driver/junit.o \
	$(B)/driver/main.o \
	$(B)/driver/progress.o \
	$(B)/driver/pin.o \
	$(B)/driver/report.o \
	$(B)/driver/sanreport.o \
	$(B)/driver/shard_auto.o \
	$(B)/driver/targets.o \
	$(B)/driver/text.o
DRIVER_HDR = driver/forksrv_client.h driver/spawn.h driver/cli.h driver/pin.h driver/infile.h driver/plain.h \
	driver/rundir.h driver/capture.h driver/diagnose.h driver/server.h driver/start_policy.h fifo/protocol.h

PC = $(B)/pkgconfig/forksrv.pc $(B)/pkgconfig/forksrv-main.pc $(B)/pkgconfig/forksrv-client.pc

TARGETS = $(patsubst tests/targets/%.c,$(B)/tests/%,$(wildcard tests/targets/*.c))

all: $(B)/forksrv $(B)/libforksrv.so $(B)/libforksrv_input.so $(B)/libforksrv.a $(B)/libforksrv_main.a $(B)/libforksrv_client.a \
	$(B)/include/forksrv_client.h $(B)/include/forksrv.h $(PC)

$(B)/preinit/%.o: preinit/%.c $(PREINIT_HDR)
	@mkdir -p $(@D)
	$(CC) $(PREINIT_CFLAGS) -c -o $@ $<

# --no-undefined with -nostdlib: the preload must not need a single symbol from libc.
$(B)/libforksrv.so: $(PREINIT_OBJ) $(B)/preinit/start_preload.o $(B)/preinit/snap_calls.o
	$(CC) $(LDFLAGS) -shared -nostdlib -Wl,--no-undefined -Wl,-z,now -Wl,-soname,libforksrv.so.$(SOVERSION) -o $@ $^

# The input start point's hooks: libc-free too, and tied to the server in libforksrv.so (its soname).
INPUT_OBJ = $(B)/preinit/input.o $(B)/preinit/elf.o $(B)/preinit/env.o $(B)/preinit/say.o
$(B)/libforksrv_input.so: $(INPUT_OBJ) $(B)/libforksrv.so
	$(CC) $(LDFLAGS) -shared -nostdlib -Wl,--no-undefined -Wl,-z,now -Wl,-soname,libforksrv_input.so.$(SOVERSION) -o $@ \
	  $(INPUT_OBJ) $(B)/libforksrv.so

# One object, so that linking the archive with --whole-archive brings the server and its
# .preinit_array entry together.
$(B)/libforksrv.a: $(PREINIT_OBJ) $(B)/preinit/start_static.o
	$(LD) -r -o $(B)/preinit/forksrv_static.o $^
	$(OBJCOPY) --localize-hidden $(B)/preinit/forksrv_static.o
	rm -f $@
	$(AR) rcs $@ $(B)/preinit/forksrv_static.o

# A main for LLVMFuzzerTestOneInput targets, with the server in the same archive.
HARNESS_OBJ = $(B)/preinit/harness_main.o $(B)/preinit/harness_report.o
$(HARNESS_OBJ): $(B)/preinit/%.o: preinit/%.c preinit/harness.h fifo/protocol.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -fPIC -c -o $@ $<

$(B)/libforksrv_main.a: $(HARNESS_OBJ) $(B)/libforksrv.a
	rm -f $@
	$(AR) rcs $@ $(HARNESS_OBJ) $(B)/preinit/forksrv_static.o

$(B)/driver/%.o: driver/%.c $(DRIVER_HDR)
	@mkdir -p $(@D)
	$(CC) $(DRIVER_CFLAGS) -c -o $@ $<

$(B)/libforksrv_client.a: $(CLIENT_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/include/forksrv_client.h: driver/forksrv_client.h
	@mkdir -p $(@D)
	cp $< $@

$(B)/include/forksrv.h: preinit/forksrv.h
	@mkdir -p $(@D)
	cp $< $@

$(B)/forksrv: $(CLI_OBJ) $(B)/libforksrv_client.a
	$(CC) $(DRIVER_CFLAGS) $(LDFLAGS) -pthread -o $@ $(CLI_OBJ) $(B)/libforksrv_client.a

# Small C targets for the tests; *_static ones are linked statically, *_fsrv ones with libforksrv.a.
$(B)/tests/%: tests/targets/%.c tests/targets/input.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<

targets: $(TARGETS) $(B)/tests/tools/direct $(B)/tests/libauditor.so $(B)/tests/cxx_static $(B)/tests/deferred_static $(B)/tests/static_plain $(B)/tests/static_fsrv $(B)/tests/static_pie_fsrv $(B)/tests/dynamic_fsrv $(B)/tests/retitle_fsrv $(B)/tests/exit_handlers_fsrv \
	$(B)/tests/state_own_prctl \
	$(B)/tests/asan_gcc $(B)/tests/asan_clang $(B)/tests/retitle_asan $(B)/tests/client_loop $(B)/tests/lost_child $(B)/tests/centipede_client

# The suite's reference: a command run as the shell runs it, with none of forksrv's plumbing.
$(B)/tests/tools/direct: tests/tools/direct.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<

$(B)/tests/deferred: tests/targets/deferred.c preinit/forksrv.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ipreinit -o $@ $<

$(B)/tests/persistent $(B)/tests/server_fds $(B)/tests/reset: $(B)/tests/%: tests/targets/%.c preinit/forksrv.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ipreinit -o $@ $<

$(B)/tests/harness: tests/targets/harness.c $(B)/libforksrv_main.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libforksrv_main.a

$(B)/tests/deferred_static: tests/targets/deferred.c preinit/forksrv.h $(B)/libforksrv.a
	$(CC) $(ALL_CFLAGS) -Ipreinit -static -o $@ $< -Wl,--whole-archive $(B)/libforksrv.a -Wl,--no-whole-archive

$(B)/tests/own_start: tests/targets/own_start.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -nostartfiles -o $@ $<

$(B)/tests/init_order: tests/targets/init_order.c tests/targets/input.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Wl,-init=first -o $@ $<

$(B)/tests/legacy_init: tests/targets/legacy_init.c tests/targets/input.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -nostartfiles -o $@ $<

$(B)/tests/libauditor.so: tests/audit/auditor.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -fPIC -shared -o $@ $<

$(B)/tests/touch: tests/targets/touch.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -pthread -o $@ $<

$(B)/tests/threads $(B)/tests/before_fork: $(B)/tests/%: tests/targets/%.c tests/targets/input.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -pthread -o $@ $<

$(B)/tests/libexit_lib.so: tests/lib/exit_lib.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -shared -o $@ $<

# Not a PIE, with a .preinit_array entry, and linked with a library that registers exit handlers in
# its constructor.
$(B)/tests/exit_handlers: tests/targets/exit_handlers.c tests/targets/input.h $(B)/tests/libexit_lib.so
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -no-pie -o $@ $< -L$(B)/tests -Wl,--no-as-needed -lexit_lib -Wl,-rpath,$(abspath $(B))/tests

# The same, with the server linked in (libforksrv.a), whose own calls are not interposed: the
# library's handlers go to libc's registration directly.
$(B)/tests/exit_handlers_fsrv: tests/targets/exit_handlers.c tests/targets/input.h $(B)/tests/libexit_lib.so $(B)/libforksrv.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< -L$(B)/tests -Wl,--no-as-needed -lexit_lib -Wl,-rpath,$(abspath $(B))/tests \
		-Wl,--whole-archive $(B)/libforksrv.a -Wl,--no-whole-archive

$(B)/tests/state: tests/targets/state.c tests/targets/input.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -pthread -o $@ $< -lm

$(B)/tests/cxx_static: tests/targets/cxx_static.cc
	@mkdir -p $(@D)
	$(CXX) $(CFLAGS) $(WARN) -o $@ $<

$(B)/tests/static_plain: tests/targets/exit_code.c
	$(CC) $(ALL_CFLAGS) -static -o $@ $<

$(B)/tests/static_fsrv: tests/targets/exit_code.c $(B)/libforksrv.a
	$(CC) $(ALL_CFLAGS) -static -o $@ $< -Wl,--whole-archive $(B)/libforksrv.a -Wl,--no-whole-archive

$(B)/tests/static_pie_fsrv: tests/targets/exit_code.c $(B)/libforksrv.a
	$(CC) $(ALL_CFLAGS) -static-pie -o $@ $< -Wl,--whole-archive $(B)/libforksrv.a -Wl,--no-whole-archive

$(B)/tests/dynamic_fsrv: tests/targets/exit_code.c $(B)/libforksrv.a
	$(CC) $(ALL_CFLAGS) -o $@ $< -Wl,--whole-archive $(B)/libforksrv.a -Wl,--no-whole-archive

$(B)/tests/retitle_fsrv: tests/targets/retitle.c tests/targets/input.h $(B)/libforksrv.a
	$(CC) $(ALL_CFLAGS) -o $@ $< -Wl,--whole-archive $(B)/libforksrv.a -Wl,--no-whole-archive

# The state target with a prctl of its own, which takes the calls the preload's wrapper would see.
$(B)/tests/state_own_prctl: tests/targets/state.c tests/targets/input.h
	$(CC) $(ALL_CFLAGS) -DOWN_PRCTL -pthread -o $@ $< -lm

$(B)/tests/asan_gcc: tests/targets/crash.c
	gcc $(ALL_CFLAGS) -fsanitize=address,undefined -o $@ $<

$(B)/tests/asan_clang: tests/targets/crash.c
	clang $(CFLAGS) $(WARN) -fsanitize=address,undefined -o $@ $<

$(B)/tests/retitle_asan: tests/targets/retitle.c tests/targets/input.h
	gcc $(ALL_CFLAGS) -fsanitize=address,undefined -o $@ $<

$(B)/tests/client_loop $(B)/tests/lost_child: $(B)/tests/%: tests/client/%.c $(B)/libforksrv_client.a $(B)/include/forksrv_client.h
	@mkdir -p $(@D)
	$(CC) $(DRIVER_CFLAGS) -I$(B)/include -o $@ $< $(B)/libforksrv_client.a

examples: all
	$(MAKE) -C examples B=$(abspath $(B))/examples LIBFORKSRV_MAIN=$(abspath $(B))/libforksrv_main.a CC="$(CC)" CFLAGS="$(CFLAGS)"

demo: examples
	scripts/demo.sh $(B)

# Peers the tests fetch rather than install (scripts/test-deps.sh): one copy for every build.
PEERS = build/peers

test:
	FORKSRV_PEERS=$(abspath $(PEERS)) scripts/test-deps.sh
	$(MAKE) B=$(B) SAN="$(SAN)" REWORD="$(REWORD)" all targets examples fuzzers
	FORKSRV_BUILD=$(abspath $(B)) FORKSRV_PEERS=$(abspath $(PEERS)) FORKSRV_REWORDED="$(REWORD)" scripts/run-tests.sh

check:
	$(MAKE) B=build/check SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" REWORD=1 test

# libFuzzer harnesses for the server's environment parser, the protocol's decoders and the report
# writers (tests/fuzz/): `make fuzz` runs each for FUZZ_SECONDS and grows its corpus in tests/fuzz/corpus/.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined
FUZZERS = $(B)/fuzz/env_parser $(B)/fuzz/messages $(B)/fuzz/writers

$(B)/fuzz/env_parser: tests/fuzz/env_parser.c preinit/env.c $(PREINIT_HDR)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -ffreestanding -o $@ tests/fuzz/env_parser.c preinit/env.c

$(B)/fuzz/messages: tests/fuzz/messages.c fifo/protocol.h
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/messages.c

$(B)/fuzz/writers: tests/fuzz/writers.c driver/text.c driver/cli.h
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -Idriver -o $@ tests/fuzz/writers.c driver/text.c

# The tests' harness target built by libFuzzer's own main, and by ours with ASan, to compare the
# harness main's libFuzzer command line with libFuzzer's (tests/libfuzzer_cli.bats).
LIBFUZZER_REFS = $(B)/tests/harness_libfuzzer $(B)/tests/harness_libfuzzer_asan $(B)/tests/harness_asan $(B)/tests/harness_ubsan

$(B)/tests/harness_libfuzzer: tests/targets/harness.c
	@mkdir -p $(@D)
	clang -g -fsanitize=fuzzer -o $@ $<

$(B)/tests/harness_libfuzzer_asan: tests/targets/harness.c
	@mkdir -p $(@D)
	clang -g -fsanitize=fuzzer,address -o $@ $<

$(B)/tests/harness_asan: tests/targets/harness.c $(B)/libforksrv_main.a
	@mkdir -p $(@D)
	clang -g -fsanitize=address -o $@ $< $(B)/libforksrv_main.a

# clang's UBSan runtime is linked in statically, its .bss megabytes long.
$(B)/tests/harness_ubsan: tests/targets/harness.c $(B)/libforksrv_main.a
	@mkdir -p $(@D)
	clang -g -fsanitize=undefined -o $@ $< $(B)/libforksrv_main.a

fuzzers: $(FUZZERS) $(LIBFUZZER_REFS)

fuzz: $(FUZZERS)
	$(B)/fuzz/env_parser -max_total_time=$(FUZZ_SECONDS) -max_len=9000 tests/fuzz/corpus/env_parser
	$(B)/fuzz/messages -max_total_time=$(FUZZ_SECONDS) tests/fuzz/corpus/messages
	$(B)/fuzz/writers -max_total_time=$(FUZZ_SECONDS) tests/fuzz/corpus/writers

BENCH = $(B)/bench/target $(B)/bench/heap_target $(B)/bench/api_client $(B)/bench/afl_client $(B)/bench/calls

$(B)/bench/target $(B)/bench/afl_client: $(B)/bench/%: scripts/bench/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -o $@ $<

$(B)/bench/calls: scripts/bench/calls.c preinit/forksrv.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -Ipreinit -o $@ $<

$(B)/bench/heap_target: scripts/bench/target.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -DBENCH_HEAP -o $@ $<

$(B)/bench/api_client: scripts/bench/api_client.c $(B)/libforksrv_client.a $(B)/include/forksrv_client.h
	@mkdir -p $(@D)
	$(CC) $(DRIVER_CFLAGS) -I$(B)/include -o $@ $< $(B)/libforksrv_client.a

bench: examples targets $(BENCH)
	scripts/bench.sh $(B)

# pkg-config files: the server for static targets (the whole archive, or its .preinit_array entry
# would be left out), the harness main, and the client library.
$(B)/pkgconfig/%.pc: Makefile
	@mkdir -p $(@D)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: $*' 'Version: $(VERSION)' \
	  'Description: $(if $(filter forksrv,$*),the forksrv fork server$(comma) for linking into a static target,$(if $(filter forksrv-main,$*),a main for LLVMFuzzerTestOneInput targets with the forksrv server,the forksrv client library: run a target through its fork server))' \
	  'Cflags: -I$${includedir}/forksrv' \
	  'Libs: -L$${libdir} $(if $(filter forksrv,$*),-Wl$(comma)--whole-archive -l:libforksrv.a -Wl$(comma)--no-whole-archive,$(if $(filter forksrv-main,$*),-l:libforksrv_main.a -pthread,-l:libforksrv_client.a))' >$@

comma = ,

MANPAGES = driver/forksrv.1 preinit/libforksrv.3

# Every installed path is quoted: PREFIX may hold spaces or colons (tests/install.bats installs under
# one); the CLI then hands the loader the preload by a path without them (driver/client.c).
install: all
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(LIBDIR)/pkgconfig" "$(DESTDIR)$(INCLUDEDIR)/forksrv" \
	  "$(DESTDIR)$(PRELOADDIR)" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man3"
	install -m 755 $(B)/forksrv "$(DESTDIR)$(BINDIR)/forksrv"
	install -m 755 $(B)/libforksrv.so "$(DESTDIR)$(PRELOADDIR)/libforksrv.so.$(VERSION)"
	install -m 755 $(B)/libforksrv_input.so "$(DESTDIR)$(PRELOADDIR)/libforksrv_input.so"
	ln -sf libforksrv.so.$(VERSION) "$(DESTDIR)$(PRELOADDIR)/libforksrv.so.$(SOVERSION)"
	ln -sf libforksrv.so.$(SOVERSION) "$(DESTDIR)$(PRELOADDIR)/libforksrv.so"
	install -m 644 $(B)/libforksrv.a $(B)/libforksrv_main.a $(B)/libforksrv_client.a "$(DESTDIR)$(LIBDIR)/"
	install -m 644 $(B)/include/forksrv.h $(B)/include/forksrv_client.h "$(DESTDIR)$(INCLUDEDIR)/forksrv/"
	install -m 644 $(PC) "$(DESTDIR)$(LIBDIR)/pkgconfig/"
	install -m 644 driver/forksrv.1 "$(DESTDIR)$(MANDIR)/man1/"
	install -m 644 preinit/libforksrv.3 "$(DESTDIR)$(MANDIR)/man3/"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/forksrv" "$(DESTDIR)$(MANDIR)/man1/forksrv.1" "$(DESTDIR)$(MANDIR)/man3/libforksrv.3"
	for f in libforksrv_input.so libforksrv.so libforksrv.so.$(SOVERSION) libforksrv.so.$(VERSION); do \
	  rm -f "$(DESTDIR)$(PRELOADDIR)/$$f"; done
	for f in libforksrv.a libforksrv_main.a libforksrv_client.a $(patsubst $(B)/%,%,$(PC)); do rm -f "$(DESTDIR)$(LIBDIR)/$$f"; done
	rm -f "$(DESTDIR)$(INCLUDEDIR)/forksrv/forksrv.h" "$(DESTDIR)$(INCLUDEDIR)/forksrv/forksrv_client.h"
	-rmdir "$(DESTDIR)$(INCLUDEDIR)/forksrv" $(if $(filter-out $(LIBDIR),$(PRELOADDIR)),"$(DESTDIR)$(PRELOADDIR)") 2>/dev/null

clean:
	rm -rf build

.PHONY: all targets examples demo test check bench clean fuzz fuzzers install uninstall
OBJCOPY ?= objcopy

$(B)/tests/centipede_client: tests/client/centipede_client.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<
