#!/bin/sh
# The application: greets its argument using the dependency from the image.
set -e
. "${DEPS_DIR:?the app image provides DEPS_DIR}/greeting.sh"
greeting "${1:-world}"
