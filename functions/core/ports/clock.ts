// Time, as a port so the core's tests can set it.

export interface Clock { now(): Date }
