#!/bin/sh
# make image-test: the image suite against IMAGE, then the report (sizes,
# cold starts, print(1) in the container against the host binary), which is
# printed even when a test failed. Exits with the suite's status.
#   tests/image/run.sh IMAGE HOST_RUNBOX
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
image=$1; host_runbox=$2
start=$(date +%s)
RUNBOX_IMAGE=$image /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/image" \
	-k "${IMAGE_TESTS:-}"
status=$?
RUNBOX_IMAGE=$image /usr/bin/python3 "$root/tests/image/report.py" "$image" "$host_runbox" \
	--runs "${IMAGE_REPORT_RUNS:-30}" --cold "${IMAGE_REPORT_COLD:-5}" || status=1
echo "image-test: suite and report in $(($(date +%s) - start)) s"
exit $status
