/**
 * An integer as a C caller passes it: a JavaScript number where it fits, a
 * bigint where it may not (a u64 address, `-1n` for all ones). Every layer
 * takes it, from the harness's value comparisons to a struct field.
 */
export type Num = bigint | number;
