"""Operations: the pipeline health documents (per org and global) and what feeds them."""
