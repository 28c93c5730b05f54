# drillbook: the two commands of the README are `make drills` and `make test`.
PY := .venv/bin/python
RESULTS := reports/allure-results
JUNIT := reports/junit.xml

.PHONY: setup images drills test lint unit report clean

setup:
	@scripts/setup.sh

# The containers environment's images, built locally (and dockerd started) when missing; the
# tests of the container faults need them, the drills on the embedded environment do not.
images: setup
	@scripts/images.sh

# The main job: every drill on the embedded environment, then the Allure HTML report and a
# one-line summary per drill. The report is generated even when a drill fails.
drills: setup
	@status=0; $(PY) -m pytest features/ --alluredir $(RESULTS) --clean-alluredir --junitxml $(JUNIT) || status=$$?; \
	$(PY) -m drillbook.report --results $(RESULTS) || status=$$?; exit $$status

# The tests: lint, the harness's own tests, and every drill.
test: setup images lint
	$(PY) -m pytest tests/ features/ --alluredir $(RESULTS) --clean-alluredir --junitxml $(JUNIT)

unit: setup
	$(PY) -m pytest tests/unit

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

report: setup
	$(PY) -m drillbook.report --results $(RESULTS)

clean:
	rm -rf reports .tox
