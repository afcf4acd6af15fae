# Gradescope autograder image for the CS224n word2vec assignment.
#
#   docker build -t w2v-autograder .
#   docker build -t w2v-autograder --build-arg RUBRIC=path/to/rubric.toml .
#   docker run --rm -v "$PWD/submission:/autograder/submission" \
#       -v "$PWD/results:/autograder/results" w2v-autograder /autograder/run_autograder
#
# The image contains exactly what the autograder zip contains (stage 1 builds that
# zip with `build-autograder`), installed by the zip's own setup.sh (stage 2), so
# "upload the zip" and "push this image" give the same autograder.  See docs/gradescope.md.

# Rubric to grade with, relative to the build context.
ARG RUBRIC=grader/rubric_default.toml

# ---- stage 1: build the autograder bundle (stdlib only: no dependencies needed) -----
FROM python:3.11-slim-bookworm AS bundle
ARG RUBRIC
WORKDIR /build
COPY grader/ grader/
COPY reference/ reference/
COPY ${RUBRIC} /tmp/rubric.toml
RUN python -m grader.commands.build_autograder --rubric /tmp/rubric.toml --out /tmp/autograder.zip \
    && python -m zipfile -e /tmp/autograder.zip /tmp/source

# ---- stage 2: the image Gradescope runs ----------------------------------------------
# Gradescope requires images to inherit from gradescope/autograder-base and keeps its
# CMD/ENTRYPOINT; student code runs as the w2vsandbox user created by setup.sh.
FROM gradescope/autograder-base:ubuntu-22.04
COPY --from=bundle /tmp/source/ /autograder/source/
RUN bash /autograder/source/setup.sh \
    && install -m 0755 /autograder/source/run_autograder /autograder/run_autograder
