// Random instruction-sequence generator for differential testing.
