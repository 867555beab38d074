# The two commands of README.md. Both install what is missing (scripts/setup.sh, idempotent).
# `make test` overlaps the one-time evcxr install (single-core bound) with the cargo test build.
.PHONY: reports test setup cargo-test notebooks-test notebooks clean-reports

setup:
	./scripts/setup.sh

reports: setup
	./scripts/notebooks.sh reports

cargo-test:
	cargo run --quiet --bin dictlab -- info
	# the library's core builds and passes its unit tests without the lab's dependencies (polars,
	# plotly, clap, toml): the compiler enforces that problems, metrics, coders, learners and the
	# registry never use them
	cargo test --no-default-features --lib
	cargo test --all-targets
	cargo test --doc
	# the coder tests once more on the AVX2 kernels (where the CPU has AVX-512) and on the portable
	# ones (the path of CPUs without AVX2/AVX-512); DICTLAB_SIMD only lowers the detected path
	DICTLAB_SIMD=avx2 cargo test --test coders
	DICTLAB_SIMD=portable cargo run --quiet --bin dictlab -- info
	DICTLAB_SIMD=portable cargo test --test coders

notebooks-test: setup
	DICTLAB_CHECK_EXTRA=target/report-check/report.html ./scripts/notebooks.sh target/nbtest

test:
	@mkdir -p target
	@./scripts/setup.sh > target/setup.log 2>&1 & echo $$! > target/setup.pid
	@$(MAKE) --no-print-directory cargo-test || { kill $$(cat target/setup.pid) 2>/dev/null; exit 1; }
	@echo "waiting for set-up (log: target/setup.log)"; while kill -0 $$(cat target/setup.pid) 2>/dev/null; do sleep 5; done
	@./scripts/setup.sh
	DICTLAB_CHECK_EXTRA=target/report-check/report.html ./scripts/notebooks.sh target/nbtest

# Regenerate notebooks/*.ipynb from their percent-format sources in notebooks/src/.
notebooks:
	for f in notebooks/src/*.rs; do python3 scripts/mknb.py $$f notebooks/$$(basename $$f .rs).ipynb; done

clean-reports:
	rm -rf reports target/nbtest
