"""w2v-grader: autograder for the word2vec assignment (Stanford CS224n a2)."""

__version__ = "0.1.0"
