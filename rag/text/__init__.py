"""Text: cleaning converted files with a map back to their characters, sentences, chunks, and the analysis of
French and English words and questions (keyword terms, glossary, question analysis)."""
