//! Text fingerprints: normalisation, shingles, MinHash, LSH parameters and
//! SimHash.
