#!/bin/sh
# check-model-of.sh — CR_MODEL_OF refuses, at compile time, a struct that does
# not match its field list: a mapped member of another C type (an int for an
# INTEGER, an array for a STRING), a relationship member of the wrong type,
# a struct that does not begin with cr_object _cr. The matching struct, with
# members of the program's own among the mapped ones, compiles.
#
# Usage: check-model-of.sh <C compiler> <include dir>
set -eu
cc=${1:?C compiler}
inc=${2:?include dir}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# $1: the case's name; $2: the struct's members; $3: the message expected
# ("" when it must compile).
check() {
    cat >"$work/case.c" <<C
#include <crucible.h>
struct Owner;
struct Item {
$2
};
#define ITEM_FIELDS(F) F(id, INTEGER, .primary_key = true) F(name, STRING(20)) \
    F(owner_id, INTEGER, .foreign_key = "owners.id")
#define ITEM_RELS(R) R(owner, ONE(Owner))
CR_MODEL_OF(Item, "items", ITEM_FIELDS, ITEM_RELS)
C
    if "$cc" -std=c11 -fsyntax-only -I"$inc" "$work/case.c" >"$work/out" 2>&1; then
        if [ -n "$3" ]; then
            echo "check-model-of: $1: compiled, expected: $3" >&2
            exit 1
        fi
    elif [ -z "$3" ]; then
        echo "check-model-of: $1: does not compile:" >&2
        cat "$work/out" >&2
        exit 1
    elif ! grep -qF "$3" "$work/out"; then
        echo "check-model-of: $1: not the expected message ($3):" >&2
        cat "$work/out" >&2
        exit 1
    fi
    echo "ok: $1"
}

check "matching struct" \
    "cr_object _cr; int hits; int64_t id; char tag[8]; char *name; int64_t owner_id;
     struct Owner *owner; void *mine;" ""
check "int for INTEGER" \
    "cr_object _cr; int id; char *name; int64_t owner_id; struct Owner *owner;" \
    "the mapped member id must be declared int64_t id"
check "array for STRING" \
    "cr_object _cr; int64_t id; char name[20]; int64_t owner_id; struct Owner *owner;" \
    "the mapped member name must be declared char * name"
check "relationship of another type" \
    "cr_object _cr; int64_t id; char *name; int64_t owner_id; void *owner;" \
    "the mapped member owner must be declared struct Owner * owner"
check "cr_object not first" \
    "int64_t id; cr_object _cr; char *name; int64_t owner_id; struct Owner *owner;" \
    "a mapped struct must begin with the member cr_object _cr"
