# pix_fdw — PGXS build of a C++17 extension (libcurl with OpenSSL, OpenSSL, RapidJSON).
MODULE_big = pix_fdw
EXTENSION  = pix_fdw
DATA       = $(wildcard sql/pix_fdw--*.sql)
SRCS       = $(wildcard src/*.cpp src/bank/*.cpp src/pg/*.cpp)
OBJS       = $(SRCS:.cpp=.o)
PIX_HEADERS = $(wildcard src/*.hpp src/bank/*.hpp src/pg/*.hpp)

TESTS        = $(wildcard test/sql/*.sql)
REGRESS      = $(sort $(patsubst test/sql/%.sql,%,$(TESTS)))
REGRESS_OPTS = --inputdir=test --outputdir=test

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
INCLUDEDIR_SERVER := $(shell $(PG_CONFIG) --includedir-server)

WARNINGS   = -Wall -Wextra -Wno-missing-field-initializers -Wno-unused-parameter
# PostgreSQL headers go in -isystem so our warnings do not fire on them.
PG_CPPFLAGS = -Isrc -isystem $(INCLUDEDIR_SERVER)
# Hidden visibility: only the entry points (marked with "#pragma GCC visibility push(default)" around each extern "C" block)
# are exported; src/exports.map enforces the same at link time.
PG_CXXFLAGS = -std=c++17 -Wno-register $(WARNINGS) -fvisibility=hidden -fvisibility-inlines-hidden $(EXTRA_CXXFLAGS)
SHLIB_LINK  = $(shell curl-config --libs) -lssl -lcrypto -lstdc++ -pthread
EXPORTS_MAP = $(dir $(abspath $(firstword $(MAKEFILE_LIST))))src/exports.map

# No LLVM bitcode: JIT-inlining C++ FDW code buys nothing and would need clang.
override with_llvm = no

include $(PGXS)

ifneq (,$(filter linux freebsd netbsd openbsd,$(PORTNAME)))
SHLIB_LINK += -Wl,--version-script=$(EXPORTS_MAP)
$(shlib): $(EXPORTS_MAP)
endif

$(OBJS): $(PIX_HEADERS)

# The bank layer never sees PostgreSQL: no server include path for it.
src/bank/%.o: override CPPFLAGS := -Isrc -DPIX_BANK_ONLY -D_GNU_SOURCE

# pg_regress writes into test/results; keep the tree clean.
EXTRA_CLEAN = test/results test/regression.diffs test/regression.out
