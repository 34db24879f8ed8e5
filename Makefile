# The two commands of the README: `make demo` and `make test`. CMake does the building.
BUILD ?= build
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all build demo test fuzz fuzz-libfuzzer fuzz-differential bench install clean

all: build

build:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j2

# The main job: the seeds' programs in C, on embedded SQLite, in
# my_sqlite_db.db here, or on the database DATABASE_URL names: the Core CRUD
# walkthrough (examples/core_crud.c), then the ORM programs — orm_basics.c,
# orm_notebook.c (relationships, joins) and user_management.c (tags,
# transactions, savepoints). CRUCIBLE_ECHO=1 logs every statement to stderr.
demo: build
	$(BUILD)/examples/core_crud
	@echo
	$(BUILD)/examples/orm_basics
	@echo
	$(BUILD)/examples/orm_notebook
	@echo
	$(BUILD)/examples/user_management

# Starts throwaway PostgreSQL and MariaDB servers, runs every test in a gcc
# build, an ASan+UBSan build, a clang build and a TSan build, stops the servers.
test:
	scripts/run-tests.sh

# Each libFuzzer target (tests/fuzz) for FUZZ_SECONDS seconds, in a clang
# build of its own; new inputs are kept in build-fuzz/tests/fuzz/work. Then
# the differential tests against SQLAlchemy (tests/differential) with
# DIFF_QUERIES queries and ORM_DIFF_PROGRAMS programs of session calls on
# each backend, with test servers of their own.
FUZZ_SECONDS ?= 60
DIFF_QUERIES ?= 20000
ORM_DIFF_PROGRAMS ?= 3000
fuzz: fuzz-libfuzzer fuzz-differential

fuzz-differential:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j2 --target diff_crucible orm_crucible
	DIFF_QUERIES=$(DIFF_QUERIES) DIFF_SEED=$${DIFF_SEED:-$$(date +%s)} \
	ORM_DIFF_PROGRAMS=$(ORM_DIFF_PROGRAMS) ORM_DIFF_SEED=$${ORM_DIFF_SEED:-$$(date +%s)} \
	scripts/run-tests.sh --servers-only \
		sh -c 'status=0; for b in sqlite postgresql mysql; do \
			tests/differential/run_differential.py $$b $(BUILD)/tests/diff_crucible || status=1; \
			tests/differential/run_orm_differential.py $$b $(BUILD)/tests/orm_crucible || status=1; \
		done; exit $$status'

fuzz-libfuzzer:
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCRUCIBLE_FUZZ=ON -DCRUCIBLE_TESTS=OFF -DCRUCIBLE_BENCH=OFF
	cmake --build build-fuzz -j2 --target fuzz_targets
	@status=0; for t in url datetime sqltext builder ddl orm migrate; do \
		[ -x build-fuzz/tests/fuzz/fuzz_$$t ] || continue; \
		echo "==== fuzz_$$t: $(FUZZ_SECONDS) s"; \
		tests/fuzz/run-fuzz.sh build-fuzz/tests/fuzz/fuzz_$$t tests/fuzz/corpus/$$t \
			build-fuzz/tests/fuzz/work/$$t $(FUZZ_SECONDS) || status=1; \
	done; exit $$status

# Workloads through Crucible and the raw client libraries, ratios printed;
# with the PgBouncer and replica topologies up, for the scale-out workloads.
bench:
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCRUCIBLE_TESTS=OFF
	cmake --build build-release -j2
	CRUCIBLE_SCALEOUT="pgbouncer pg-replicas mariadb-replica" \
		scripts/run-tests.sh --servers-only ./build-release/bench/bench

install: build
	cmake --install $(BUILD)

clean:
	rm -rf build build-asan build-clang build-tsan build-release build-fuzz
